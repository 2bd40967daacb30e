"""/docs: the Markdown reference in docs/ rendered as pages, beside the API playground."""
import os
import re

import markdown
from flask import Blueprint, abort, render_template
from markupsafe import Markup

blp = Blueprint("web_docs", __name__, template_folder="templates")
DOCS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs")
# The reading order of the pages the overview links to; any other page follows by name.
ORDER = ("overview", "submissions", "results", "credits", "rate-limits", "pagination", "errors", "webhooks",
         "examples", "sdk", "how-it-works", "operating", "sandbox")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_LINK = re.compile(r'href="(?!https?:|/|#|mailto:)([a-z0-9][a-z0-9_-]*)\.md(#[^"]*)?"')


@blp.route("/docs")
@blp.route("/docs/<name>")
def page(name=None):
    """One page of the reference (the first when none is named), with the list of pages beside it."""
    pages = list_pages()
    if not pages:
        abort(404)
    name = name or pages[0]["name"]
    if not _NAME.fullmatch(name) or name not in {p["name"] for p in pages}:
        abort(404)
    with open(os.path.join(DOCS_DIR, f"{name}.md"), encoding="utf-8") as handle:
        html = render_markdown(handle.read())
    title = next(p["title"] for p in pages if p["name"] == name)
    return render_template("web/docs.html", pages=pages, name=name, title=title, html=html)


def list_pages():
    """[{name, title}] of docs/*.md in reading order."""
    try:
        names = [f[:-3] for f in os.listdir(DOCS_DIR) if f.endswith(".md") and _NAME.fullmatch(f[:-3])]
    except FileNotFoundError:
        return []
    names.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    return [{"name": n, "title": _title(n)} for n in names]


def render_markdown(text):
    """Our own trusted Markdown as HTML; links between the pages point at /docs/<name>."""
    html = markdown.markdown(text, extensions=["fenced_code", "tables", "toc", "sane_lists"],
                             output_format="html")
    return Markup(_LINK.sub(lambda m: f'href="/docs/{m.group(1)}{m.group(2) or ""}"', html))


def _title(name):
    with open(os.path.join(DOCS_DIR, f"{name}.md"), encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("# "):
                return line[2:].strip()
    return name.replace("-", " ").capitalize()
