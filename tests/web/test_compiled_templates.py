"""Templates compiled when the bundle is built (issue 25, app/web/compiled.py): the unlock page is drawn from them,
and a template changed since is drawn from its source, never from stale bytecode."""

from __future__ import annotations

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app import create_app
from app.web import compiled
from app.web.security import launch_path

from .conftest import FAST_KDF, PASSPHRASE


def launched(app):
    client = app.test_client()
    assert client.get(launch_path(app)).status_code == 302
    return client


def test_the_unlock_page_is_drawn_from_the_templates_compiled_at_build(tmp_path):
    from app import store as store_mod

    home = tmp_path / "home"
    store_mod.create(home, PASSPHRASE, kdf=FAST_KDF).close()
    folder = tmp_path / "compiled"
    names = compiled.write(create_app({"RENTDESK_HOME": str(home), "COMPILED_TEMPLATES": ""}), folder)
    assert {"base.html", "unlock.html", "first_run.html", "accounts/index.html"} <= set(names)
    assert len(list(folder.iterdir())) == len(names)

    app = create_app({"RENTDESK_HOME": str(home), "COMPILED_TEMPLATES": str(folder)})
    page = launched(app).get("/unlock")
    assert page.status_code == 200 and b"<h1>Unlock RentDesk</h1>" in page.data
    assert b'name="csrf_token"' in page.data  # the macros came too (macros.html)
    assert app.jinja_env.bytecode_cache.hits == 3  # unlock.html, base.html, macros.html: none compiled here
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        compiled.CompiledTemplates(folder).get_cache_key(n) + ".jinja" for n in names)  # read only: nothing added


def test_without_the_folder_the_templates_compile_as_they_are_drawn(tmp_path):
    app = create_app({"RENTDESK_HOME": str(tmp_path / "home"), "COMPILED_TEMPLATES": str(tmp_path / "none")})
    assert app.jinja_env.bytecode_cache is None  # a source tree has no compiled-templates/
    page = launched(app).get("/first-run")
    assert page.status_code == 200 and b"Welcome to RentDesk" in page.data


def test_a_template_changed_since_it_was_compiled_is_drawn_from_its_new_source(tmp_path):
    sources = tmp_path / "templates"
    sources.mkdir()
    (sources / "page.html").write_text("<p>{{ word }} before</p>", encoding="utf-8")

    def env(cache):
        return Environment(loader=FileSystemLoader(sources), autoescape=select_autoescape(), bytecode_cache=cache)

    folder = tmp_path / "compiled"
    folder.mkdir()
    env(compiled.CompiledTemplates(folder, writable=True)).get_template("page.html")
    cache = compiled.CompiledTemplates(folder)
    assert env(cache).get_template("page.html").render(word="<b>") == "<p>&lt;b&gt; before</p>"
    assert cache.hits == 1

    (sources / "page.html").write_text("<p>{{ word }} after</p>", encoding="utf-8")  # a new version, not rebuilt
    stale = compiled.CompiledTemplates(folder)
    assert env(stale).get_template("page.html").render(word="x") == "<p>x after</p>"
    assert stale.hits == 0
