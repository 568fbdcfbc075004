"""A real browser (headless Chromium from the distribution, driven by Selenium): log in, filter, search, give feedback.

Needs the Debian packages chromium and chromium-driver (`.ci/run` installs them); nothing is
downloaded at run time. Skipped loudly without them, and a failure under CI=true.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator

import pytest

from services.database import dispose_engines, unit_of_work
from tests.support.services import unavailable
from tests.web.conftest import PASSWORD, add_user, feedback_rows
from tests.web.seed import StorySpec, seed_story

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def browser() -> Iterator[object]:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        message = "chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)"
        unavailable(message)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a browser or a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1200,900",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def test_login_filter_search_feedback(browser, web_env, start_web):  # type: ignore[no-untyped-def]
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)  # a click is still navigating

    with unit_of_work(web_env["DATABASE_URL"]) as session:
        english = seed_story(
            session, StorySpec("Invented agency publishes model audit guide", entities=["Example Agency"], hours=1)
        )
        seed_story(
            session, StorySpec("示例机构发布人工智能安全评估指南", "大模型评估要求。", language="zh-Hans", hours=2)
        )
        seed_story(
            session,
            StorySpec(
                "示例公司发布新的开源模型", "开源社区反响热烈。", language="zh-Hans", topics=["model_releases"], hours=3
            ),
        )
    dispose_engines()
    add_user(web_env, "alice")
    server = start_web(web_env)
    driver = browser

    driver.get(server.url + "/stories")
    assert "/login" in driver.current_url
    driver.find_element(By.NAME, "username").send_keys("alice")
    driver.find_element(By.NAME, "password").send_keys("wrong password")
    driver.find_element(By.ID, "sign-in").click()
    WebDriverWait(driver, 15, ignored_exceptions=ignored).until(
        lambda d: "Wrong user name or password" in d.page_source
    )
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    WebDriverWait(driver, 15, ignored_exceptions=ignored).until(
        lambda d: d.current_url.endswith("/stories") and "/login" not in d.current_url
    )

    def listed(expected: list[str]) -> list[str]:
        """The titles listed once the page shows ``expected`` (a click navigates: the old page may still be
        there, or go stale while read), or what it shows when the deadline passes."""
        from selenium.common.exceptions import StaleElementReferenceException

        deadline = time.monotonic() + 15
        while True:
            try:
                titles = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#stories li.story a.title")]
            except StaleElementReferenceException:
                titles = None
            if titles == expected or (titles is not None and time.monotonic() > deadline):
                return titles
            time.sleep(0.05)

    assert listed(
        [
            "示例公司发布新的开源模型",
            "示例机构发布人工智能安全评估指南",
            "Invented agency publishes model audit guide",
        ]
    ) == [
        "示例公司发布新的开源模型",
        "示例机构发布人工智能安全评估指南",
        "Invented agency publishes model audit guide",
    ]
    Select(driver.find_element(By.ID, "language")).select_by_value("en")
    driver.find_element(By.ID, "apply").click()
    assert listed(["Invented agency publishes model audit guide"]) == ["Invented agency publishes model audit guide"]
    driver.get(server.url + "/stories")
    search = driver.find_element(By.ID, "q")
    search.send_keys("人工智能")
    driver.find_element(By.ID, "apply").click()
    assert listed(["示例机构发布人工智能安全评估指南"]) == ["示例机构发布人工智能安全评估指南"]
    Select(driver.find_element(By.ID, "topic")).select_by_value("model_releases")
    driver.find_element(By.ID, "q").clear()
    driver.find_element(By.ID, "apply").click()
    assert listed(["示例公司发布新的开源模型"]) == ["示例公司发布新的开源模型"]

    driver.get(server.url + f"/stories/{english.story_id}")
    driver.find_element(By.ID, "fb-not_relevant").click()
    WebDriverWait(driver, 15, ignored_exceptions=ignored).until(
        lambda d: "recorded" in d.find_element(By.ID, "notice").text
    )
    rows = feedback_rows(web_env)
    assert [(r["who"], r["verdict"], r["source"], r["story_id"]) for r in rows] == [
        ("alice", "not_relevant", "web", english.story_id)
    ]
