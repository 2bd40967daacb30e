"""Failures say what to do: a network call and a missing module name the rule and where it is documented."""


def test_a_network_call_fails_as_sandbox_violation_saying_networking_is_off(api_user):
    ended = api_user.run("import urllib.request\ndef fitness_func(ga, sol, idx):\n"
                         "    urllib.request.urlopen('http://192.0.2.1/', timeout=1)\n    return 1.0\n")
    assert ended["error"]["code"] == "sandbox_violation"
    assert "networking is off inside jobs" in ended["error"]["message"]
    assert "/docs/sandbox#networking" in ended["error"]["message"]
    assert "urlopen" in ended["error"]["traceback"]  # points at the user's line


def test_a_library_cannot_swallow_the_refusal(api_user):
    ended = api_user.run("import socket\ndef fitness_func(ga, sol, idx):\n    try:\n"
                         "        socket.getaddrinfo('example.com', 80)\n    except Exception:\n"
                         "        pass\n    return 1.0\n")
    assert ended["error"]["code"] == "sandbox_violation"


def test_a_missing_module_says_what_a_fitness_function_can_import(api_user):
    ended = api_user.run("import no_such_module_here\ndef fitness_func(ga, sol, idx):\n    return 1.0\n")
    assert ended["error"]["code"] == "fitness_error"
    message = ended["error"]["message"]
    assert "No module named 'no_such_module_here'" in message
    assert "standard library, numpy and pygad" in message and "what-a-fitness-function-can-import" in message


def test_a_forbidden_system_call_names_networking_and_processes(api_user):
    ended = api_user.run("import _socket\ndef fitness_func(ga, sol, idx):\n    _socket.socket()\n    return 1.0\n")
    assert ended["error"]["code"] == "sandbox_violation"
    assert "networking, new processes" in ended["error"]["message"]
