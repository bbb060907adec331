"""Issue 11, item 13: the window fits a 1366×768 laptop; when it cannot start, the demo opens the browser and its
throwaway folder goes."""

from __future__ import annotations

import os
import re
import signal
import webbrowser
from pathlib import Path

import httpx


def test_the_window_fits_a_1366_by_768_laptop_with_its_task_bar():
    from app.desktop import MIN_SIZE, WINDOW_SIZE

    width, height = WINDOW_SIZE
    assert 1024 <= width <= 1366 and height <= 768 - 40 - 28  # a task bar and a title bar stay on screen
    assert MIN_SIZE[0] >= 1024 and MIN_SIZE[1] <= height


def test_a_demo_whose_window_cannot_start_opens_the_browser_and_removes_its_folder(monkeypatch, tmp_path):
    import webview

    from app.demo import run_demo

    def window_fails(*args, **kwargs):
        raise RuntimeError("Qt could not create the web view")  # what a broken graphics stack raises

    monkeypatch.setattr(webview, "start", window_fails)
    monkeypatch.setattr("app.desktop.window_problem", lambda environ=None: None)
    opened: list[str] = []

    def browser(url, *args, **kwargs):
        opened.append(url)
        assert httpx.get(url, follow_redirects=False).status_code in (200, 302)  # the app answers there
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl+C
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    banner = tmp_path / "banner.txt"
    with banner.open("w") as out:
        assert run_demo("window", out=out) == 0
    text = banner.read_text()
    folder = Path(re.search(r"data folder\s+(\S+)", text).group(1))
    assert len(opened) == 1 and opened[0].startswith("http://127.0.0.1:")
    assert not folder.exists(), "the throwaway demo folder outlived the demo"
