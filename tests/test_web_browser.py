"""A real browser (headless Chromium) logs in, submits, watches the run finish and finds the chart."""
import shutil
import time

import pytest

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no browser installed: the real-browser test needs Debian's chromium and chromium-driver "
           "(.ci/run installs them with apt-get)")


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra: pip install -e .[test]")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,900", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def arrived(browser, url_check, selector):
    """The new page is there: its URL and its content (a navigation commits the URL before the page is parsed)."""
    from selenium.webdriver.common.by import By

    return url_check(browser.current_url) and browser.find_elements(By.CSS_SELECTOR, selector)


def wait_for(check, timeout=90, what="the page"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout}s")


def test_a_browser_logs_in_submits_watches_the_run_finish_and_finds_the_chart(live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    email = f"browser{time.monotonic_ns()}@example.com"
    live_server.command("create-account", email, "--credits", "100", "--password", "a good password")
    browser.get(live_server.url + "/submissions/new")
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys("a good password")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(lambda: arrived(browser, lambda url: url.endswith("/submissions/new"), "#problem-choice, #name"), 20,
             "the redirect after log in")

    quick = browser.find_elements(By.ID, "problem-choice")
    if quick:  # the quick catalogue is installed: pick its first problem and keep its example data
        if not browser.find_elements(By.CSS_SELECTOR, "input[name=problem]"):
            choice = Select(quick[0])
            choice.select_by_value(next(o.get_attribute("value") for o in choice.options if o.get_attribute("value")))
            # forms.js sends the choice on change; the button does it without a script
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "input[name=problem]"), 20, "the problem's form")
        generations = browser.find_element(By.ID, "num_generations")
        generations.clear()
        generations.send_keys("40")
    else:
        browser.find_element(By.ID, "name").send_keys("from a browser")
        generations = browser.find_element(By.ID, "num_generations")
        generations.clear()
        generations.send_keys("40")
    browser.find_element(By.CSS_SELECTOR, "form[data-submit-once] button.primary").click()

    wait_for(lambda: arrived(browser, lambda url: "/submissions/" in url and "/new" not in url, "p.flash"), 20,
             "the redirect to the submission's page")
    assert browser.find_element(By.CSS_SELECTOR, "p.flash").text.startswith("Submitted:")
    page_id = browser.execute_script("return window.performance.timeOrigin")
    # The page's script follows the run and swaps in the final panel: no reload, so timeOrigin stays.
    chart = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "svg#fitness-chart"), 90,
                     "the final chart")[0]
    assert browser.execute_script("return window.performance.timeOrigin") == page_id
    assert browser.find_element(By.CSS_SELECTOR, "#status-heading .status").text == "succeeded"
    assert browser.find_element(By.ID, "announce").get_attribute("textContent") == "The run succeeded."
    points = chart.find_element(By.CSS_SELECTOR, "polyline.best").get_attribute("points").split()
    assert len(points) >= 2
    assert "Best fitness" in chart.find_element(By.TAG_NAME, "desc").get_attribute("textContent")
    assert browser.find_element(By.PARTIAL_LINK_TEXT, "Download history (CSV)")


def test_a_browser_repeats_a_run_as_an_experiment_and_reads_its_ranked_cells_and_bands(live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from conftest import ApiUser

    email = f"experimenter{time.monotonic_ns()}@example.com"
    created = live_server.command("create-account", email, "--credits", "1000", "--password", "a good password")
    user = ApiUser(live_server, created["api_key"])
    source = user.run("def fitness_func(ga, sol, idx):\n    return -float(sum(x * x for x in sol))\n",
                      num_generations=15, sol_per_pop=8, num_genes=3, num_parents_mating=4, name="sphere")
    browser.get(live_server.url + "/login")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys("a good password")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(lambda: arrived(browser, lambda url: "/login" not in url, "body"), 20, "the redirect after log in")

    browser.get(f"{live_server.url}/submissions/{source['id']}")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Repeat this run").click()
    wait_for(lambda: arrived(browser, lambda url: url.endswith("/repeat"), "#repeats"), 20, "the repeat form")
    repeats = browser.find_element(By.ID, "repeats")
    repeats.clear()
    repeats.send_keys("3")
    browser.find_element(By.ID, "seed").send_keys("11")
    Select(browser.find_element(By.ID, "grid_param_1")).select_by_value("mutation_probability")
    browser.find_element(By.ID, "grid_values_1").send_keys("0.02, 0.3")
    browser.find_element(By.CSS_SELECTOR, "form[data-submit-once] button.primary").click()

    wait_for(lambda: arrived(browser, lambda url: "/experiments/" in url, "p.flash")
             or browser.find_elements(By.ID, "error-summary"), 20,
             "the redirect to the experiment's page")
    assert not browser.find_elements(By.ID, "error-summary"), browser.find_element(By.ID, "error-summary").text
    assert browser.find_element(By.CSS_SELECTOR, "p.flash").text.startswith("Started: experiment")
    # The page reloads itself until every run has ended.
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#experiment-status[data-status=finished]"), 120,
             "the experiment to finish")
    ranks = [row.find_element(By.TAG_NAME, "th").text
             for row in browser.find_elements(By.CSS_SELECTOR, "table#cells tbody tr")]
    assert ranks == ["1", "2"]
    assert "Mann–Whitney U" in browser.find_element(By.ID, "p-value-note").text
    bands = browser.find_elements(By.CSS_SELECTOR, "svg.band-chart")
    assert len(bands) == 2
    for band in bands:
        assert len(band.find_element(By.CSS_SELECTOR, "polyline.median").get_attribute("points").split()) == 16
        assert band.find_element(By.CSS_SELECTOR, "polygon.band").get_attribute("points")
    run_links = browser.find_elements(By.CSS_SELECTOR, "table#runs tbody th a")
    assert len(run_links) == 6
    run_links[0].click()
    wait_for(lambda: arrived(browser, lambda url: "/submissions/" in url, "p.meta"), 20, "a run's page")
    assert "a run of experiment" in browser.find_element(By.CSS_SELECTOR, "p.meta").text


def make_browser(width=1200, height=900):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra: pip install -e .[test]")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={max(width, 500)},{height}", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync"):
        options.add_argument(argument)
    if width < 500:  # headless windows are at least 500 px wide: emulate the phone's viewport
        options.add_experimental_option("mobileEmulation",
                                        {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1}})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def log_in(browser, server, email, password):
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/login")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(lambda: arrived(browser, lambda url: "/login" not in url, "body"), 20, "the redirect after log in")


def test_the_playground_runs_the_default_example_with_try_it_out(live_server, browser):
    from selenium.webdriver.common.by import By

    key = live_server.command("create-account", f"play{time.monotonic_ns()}@example.com", "--credits", "100")["api_key"]
    browser.get(live_server.url + "/api/v1/docs")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "button.authorize"), 30, "the playground").pop().click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".modal-ux input"), 10, "the key dialog")[0].send_keys(key)
    browser.find_element(By.CSS_SELECTOR, ".modal-ux button.authorize").click()
    browser.find_element(By.CSS_SELECTOR, ".modal-ux button.btn-done").click()
    operation = [block for block in browser.find_elements(By.CSS_SELECTOR, ".opblock-post")
                 if block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").text.rstrip("\u200b").endswith(
                     "/submissions")][0]
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait_for(lambda: operation.find_elements(By.CSS_SELECTOR, "button.try-out__btn"), 10, "Try it out").pop().click()
    wait_for(lambda: operation.find_elements(By.CSS_SELECTOR, "button.execute"), 10, "Execute").pop().click()
    status = wait_for(lambda: [cell.text for cell in operation.find_elements(
        By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status") if cell.text.strip()], 30, "the response")
    body = operation.find_element(By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_description").text
    assert status[0].strip().startswith("202"), body  # the default body is a job the server accepts
    # the document's relative server /api/v1, resolved against the address the page came from
    assert operation.find_element(By.CSS_SELECTOR, ".request-url pre").text == live_server.url + "/api/v1/submissions"
    assert live_server.url + "/api/v1/submissions/" in body  # its URLs name this server's port


RUN = {"name": "sum to ten", "num_generations": 300, "sol_per_pop": 12, "num_genes": 4, "num_parents_mating": 4,
       "random_seed": 3, "stop_criteria": ["reach_-0.0000001", "saturate_25"],
       "fitness_func": "def fitness_func(ga_instance, solution, solution_idx):\n    return -abs(sum(solution) - 10)\n"}


def test_a_run_page_shows_why_it_ended_its_chart_and_copies_that_run_as_curl_and_python(live_server, browser, tmp_path):
    import os
    import subprocess

    from selenium.webdriver import ActionChains
    from selenium.webdriver.common.by import By

    from conftest import ApiUser

    email = f"copier{time.monotonic_ns()}@example.com"
    key = live_server.command("create-account", email, "--credits", "100", "--password", "a good password")["api_key"]
    user = ApiUser(live_server, key)
    run = user.wait(user.submit(RUN["fitness_func"], **{k: v for k, v in RUN.items() if k != "fitness_func"})["id"])
    assert run["stop_reason"] == "stop_criteria"
    log_in(browser, live_server, email, "a good password")
    browser.get(f"{live_server.url}/submissions/{run['id']}")
    ended = browser.find_element(By.CSS_SELECTOR, "[data-field=stop-reason]").text
    assert f"a stop criterion was reached ({run['stop_criterion']})" in ended
    assert f"{run['progress']['generations_completed']} of 300 generations" in ended

    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".chart-readout"), 10, "the chart's script")
    chart = browser.find_elements(By.CSS_SELECTOR, "svg#fitness-chart .tick.x")
    x_ticks = [int(t.text) for t in chart]
    assert max(x_ticks) <= run["progress"]["generations_completed"] < 300  # the x-axis spans the generations run
    labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "svg#fitness-chart .tick.y")]
    assert any(label.startswith("\u2212") for label in labels)  # real minus signs
    svg = browser.find_element(By.CSS_SELECTOR, "svg#fitness-chart")
    ActionChains(browser).move_to_element(svg).perform()
    readout = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, ".chart-readout").text.startswith("generation")
                       and browser.find_element(By.CSS_SELECTOR, ".chart-readout").text, 5, "the hover read-out")
    assert "best fitness \u2212" in readout
    scale = browser.find_element(By.CSS_SELECTOR, "button.chart-scale")
    assert scale.is_displayed()  # every value is negative: a log scale of |fitness| can show them
    scale.click()
    assert scale.get_attribute("aria-pressed") == "true"
    assert "log scale" in svg.find_element(By.CSS_SELECTOR, ".axis").text

    texts = {}
    for kind in ("curl", "python"):
        block = browser.find_element(By.CSS_SELECTOR, f"pre#copy-{kind}")
        block.find_element(By.XPATH, "..").find_element(By.TAG_NAME, "summary").click()
        button = browser.find_element(By.CSS_SELECTOR, f"button[data-copy=copy-{kind}]")
        button.click()
        assert wait_for(lambda: button.text in ("Copied", "Select and copy") and button.text, 5, "the copy")
        texts[kind] = block.get_attribute("textContent")
    env = dict(os.environ, VILVIK_API_KEY=key)
    env.pop("VILVIK_BASE_URL", None)
    accepted = subprocess.run(["bash", "-c", texts["curl"]], env=env, capture_output=True, text=True, timeout=60)
    again = __import__("json").loads(accepted.stdout)
    assert again["status"] == "queued", accepted
    rerun = user.wait(again["id"])
    assert rerun["params"] == run["params"] and rerun["progress"]["best_fitness"] == run["progress"]["best_fitness"]
    script = tmp_path / "again.py"
    script.write_text(texts["python"])
    printed = subprocess.run([__import__("sys").executable, str(script)], env=env, capture_output=True, text=True,
                             timeout=120)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.split()[0] == str(run["progress"]["best_fitness"])  # the same seed, the same answer

    browser.find_element(By.PARTIAL_LINK_TEXT, "Edit and resubmit").click()
    wait_for(lambda: arrived(browser, lambda url: "/submissions/new" in url, "#fitness_func"), 10, "the form")
    assert browser.find_element(By.ID, "num_generations").get_attribute("value") == "300"
    assert browser.find_element(By.ID, "fitness_func").get_attribute("value") == RUN["fitness_func"]


def test_a_run_page_reads_well_on_a_390_pixel_wide_phone(live_server):
    from selenium.webdriver.common.by import By

    from conftest import ApiUser

    email = f"phone{time.monotonic_ns()}@example.com"
    key = live_server.command("create-account", email, "--credits", "100", "--password", "a good password")["api_key"]
    user = ApiUser(live_server, key)
    run = user.wait(user.submit(RUN["fitness_func"], **{k: v for k, v in RUN.items() if k != "fitness_func"})["id"])
    phone = make_browser(390, 844)
    try:
        log_in(phone, live_server, email, "a good password")
        phone.get(f"{live_server.url}/submissions/{run['id']}")
        wait_for(lambda: phone.find_elements(By.CSS_SELECTOR, ".chart-readout"), 10, "the chart's script")
        assert phone.execute_script("return window.innerWidth") == 390
        assert phone.execute_script("return document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        # Measured in one script: the chart's script may redraw the SVG (and replace its elements)
        # while the test looks, so element handles taken one by one can go stale.
        svg, ticks = phone.execute_script(
            "const box = e => { const r = e.getBoundingClientRect(); return {x: r.x, width: r.width, height: r.height}; };"
            "return [box(document.querySelector('svg#fitness-chart')),"
            " [...document.querySelectorAll('svg#fitness-chart .tick.y')].map(box)];")
        assert svg["width"] <= 390 and svg["x"] >= 0
        assert ticks
        for tick in ticks:
            assert tick["x"] >= 0 and tick["height"] >= 11  # inside the screen, readable
        phone.save_screenshot(str(__import__("pathlib").Path(live_server.instance) / "run-390px.png"))
    finally:
        phone.quit()
