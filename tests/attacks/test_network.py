"""Reaching the network: TCP to the host and outside, UDP, DNS, Unix sockets, the job's own channel.

Layers at work: seccomp kills socket() of every family (and every other socket call
but read/write on the one inherited channel); the net namespace has no interface
anyway; Landlock refuses TCP bind/connect and scopes abstract Unix sockets.
Each test also watches the host side: a listener that must see no connection.
"""
import socket
import uuid

import pytest


@pytest.fixture
def tcp_listener():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    yield listener
    listener.close()


def assert_no_connection(listener):
    try:
        connection, peer = listener.accept()
    except BlockingIOError:
        return
    connection.close()
    raise AssertionError(f"the job reached the host: a connection from {peer}")


def test_tcp_to_a_host_listener(hostile, tcp_listener):
    port = tcp_listener.getsockname()[1]
    source = ("import socket\ndef fitness_func(ga, solution, idx):\n"
              f"    socket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'hi')\n    return 1.0\n")
    hostile.expect(source, "sandbox_violation")
    assert_no_connection(tcp_listener)


def test_tcp_to_the_server_itself(hostile, attack_server):
    host, port = attack_server.url.split("//")[1].split(":")
    source = ("import urllib.request\ndef fitness_func(ga, solution, idx):\n"
              f"    urllib.request.urlopen('http://{host}:{port}/api/v1/health', timeout=1).read()\n    return 1.0\n")
    hostile.expect(source, "sandbox_violation")


def test_tcp_to_the_outside_world(hostile):
    source = ("import socket\ndef fitness_func(ga, solution, idx):\n"
              "    socket.create_connection(('1.1.1.1', 80), timeout=1)\n    return 1.0\n")
    hostile.expect(source, "sandbox_violation")


def test_dns_lookup(hostile):
    source = ("import socket\ndef fitness_func(ga, solution, idx):\n"
              "    socket.getaddrinfo('example.com', 443)\n    return 1.0\n")
    hostile.expect(source, "sandbox_violation")


def test_udp_to_a_host_listener(hostile):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.setblocking(False)
        port = receiver.getsockname()[1]
        source = ("import socket\ndef fitness_func(ga, solution, idx):\n"
                  f"    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', {port}))\n"
                  "    return 1.0\n")
        hostile.expect(source, "sandbox_violation")
        with pytest.raises(BlockingIOError):
            receiver.recvfrom(16)


def test_unix_socket_on_the_host(hostile, tmp_path):
    path = str(tmp_path / "host.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen(1)
        listener.setblocking(False)
        source = ("import socket\ndef fitness_func(ga, solution, idx):\n"
                  f"    socket.socket(socket.AF_UNIX).connect({path!r})\n    return 1.0\n")
        hostile.expect(source, "sandbox_violation")
        assert_no_connection(listener)


def test_abstract_unix_socket_on_the_host(hostile):
    name = f"\0vilvik-attack-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(name)
        listener.listen(1)
        listener.setblocking(False)
        source = ("import socket\ndef fitness_func(ga, solution, idx):\n"
                  f"    socket.socket(socket.AF_UNIX).connect({name!r})\n    return 1.0\n")
        hostile.expect(source, "sandbox_violation")
        assert_no_connection(listener)


@pytest.mark.parametrize("family, kind", [("AF_NETLINK", "SOCK_RAW"), ("AF_PACKET", "SOCK_RAW"),
                                          ("AF_INET6", "SOCK_STREAM"), ("AF_INET", "SOCK_RAW")])
def test_other_socket_families(hostile, family, kind):
    source = ("import socket\ndef fitness_func(ga, solution, idx):\n"
              f"    socket.socket(socket.{family}, socket.{kind})\n    return 1.0\n")
    hostile.expect(source, "sandbox_violation")


def test_socketpair(hostile):
    source = "import socket\ndef fitness_func(ga, solution, idx):\n    socket.socketpair()\n    return 1.0\n"
    hostile.expect(source, "sandbox_violation")


def test_pass_a_descriptor_over_the_result_channel(hostile):
    # sendmsg with SCM_RIGHTS on the inherited channel: any socket call but read/write is killed.
    source = ("import socket, array\ndef fitness_func(ga, solution, idx):\n"
              "    channel = socket.socket(fileno=3)\n"
              "    channel.sendmsg([b'x'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [0]))])\n"
              "    return 1.0\n")
    hostile.expect(source, "sandbox_violation")


def test_the_job_sees_no_network_interface_name(hostile):
    # socket.if_nameindex needs a socket: killed too. The hostname is the jail's own.
    source = ("import socket, os\nassert socket.gethostname() == 'vilvik', socket.gethostname()\n"
              "assert os.uname().nodename == 'vilvik'\n"
              "def fitness_func(ga, solution, idx):\n    socket.if_nameindex()\n    return 1.0\n")
    hostile.expect(source, "sandbox_violation")
