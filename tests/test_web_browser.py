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
    wait_for(lambda: browser.current_url.endswith("/submissions/new"), 20, "the redirect after log in")

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

    wait_for(lambda: "/submissions/" in browser.current_url and "/new" not in browser.current_url, 20,
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
    wait_for(lambda: "/login" not in browser.current_url, 20, "the redirect after log in")

    browser.get(f"{live_server.url}/submissions/{source['id']}")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Repeat this run").click()
    wait_for(lambda: browser.current_url.endswith("/repeat"), 20, "the repeat form")
    repeats = browser.find_element(By.ID, "repeats")
    repeats.clear()
    repeats.send_keys("3")
    browser.find_element(By.ID, "seed").send_keys("11")
    Select(browser.find_element(By.ID, "grid_param_1")).select_by_value("mutation_probability")
    browser.find_element(By.ID, "grid_values_1").send_keys("0.02, 0.3")
    browser.find_element(By.CSS_SELECTOR, "form[data-submit-once] button.primary").click()

    wait_for(lambda: "/experiments/" in browser.current_url or browser.find_elements(By.ID, "error-summary"), 20,
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
    wait_for(lambda: "/submissions/" in browser.current_url, 20, "a run's page")
    assert "a run of experiment" in browser.find_element(By.CSS_SELECTOR, "p.meta").text
