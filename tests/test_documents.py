from __future__ import annotations

from pathlib import Path

import pytest

from verify.documents import iter_document_paths, load_document, read_text_file
from verify.errors import InputError

MD = """---
title: "Finland joins NATO"
publisher: NATO
url: "https://www.nato.int/finland"
date: 2023-04-04
note: "Summary for tests."
topics: [nato, finland]
---
Finland became the 31st member of NATO on 4 April 2023.

The ceremony took place in Brussels.
"""

HTML = """<!doctype html>
<html><head><title>Sweden joins NATO</title>
<style>p { color: red; } .hidden { display: none; }</style>
<script>var tracking = "SCRIPT-TEXT";</script></head>
<body>
<nav>Home | News | NAV-TEXT</nav>
<h1>Sweden joins</h1>
<p>Sweden became the 32nd member of NATO on 7 March 2024.</p>
<script>document.write("MORE-SCRIPT");</script>
<ul><li>Hungary voted on 26 February 2024.</li></ul>
<footer>Copyright FOOTER-TEXT</footer>
</body></html>
"""


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_markdown_front_matter_is_parsed_and_removed(tmp_path: Path):
    doc = load_document(write(tmp_path / "Finland Joins.md", MD))
    assert doc.meta == {
        "title": "Finland joins NATO",
        "publisher": "NATO",
        "url": "https://www.nato.int/finland",
        "date": "2023-04-04",
        "note": "Summary for tests.",
    }
    assert doc.text == (
        "Finland became the 31st member of NATO on 4 April 2023.\n\nThe ceremony took place in Brussels."
    )
    assert doc.doc_id == "finland-joins"
    assert doc.path == str(tmp_path / "Finland Joins.md")


def test_markdown_without_front_matter_keeps_all_text(tmp_path: Path):
    doc = load_document(write(tmp_path / "plain.md", "# Heading\n\nBody text here.\n"))
    assert doc.meta == {}
    assert doc.text == "# Heading\n\nBody text here."


def test_markdown_with_bad_front_matter_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="front matter"):
        load_document(write(tmp_path / "bad.md", "---\ntitle: [unclosed\n---\nBody.\n"))


def test_text_file_is_read_and_stripped(tmp_path: Path):
    doc = load_document(write(tmp_path / "notes.txt", "\n\n  Plain text evidence.\nSecond line.  \n\n"))
    assert doc.text == "Plain text evidence.\nSecond line."
    assert doc.meta == {}
    assert doc.doc_id == "notes"


def test_utf8_bom_is_removed(tmp_path: Path):
    doc = load_document(write(tmp_path / "bom.txt", "\ufeffKyiv and Kharkiv.".encode()))
    assert doc.text == "Kyiv and Kharkiv."


def test_html_text_is_extracted_without_script_style_or_navigation(tmp_path: Path):
    doc = load_document(write(tmp_path / "sweden.html", HTML))
    assert doc.meta["title"] == "Sweden joins NATO"
    assert "Sweden became the 32nd member of NATO on 7 March 2024." in doc.text
    assert "Hungary voted on 26 February 2024." in doc.text
    for hidden in ("SCRIPT-TEXT", "MORE-SCRIPT", "color: red", "NAV-TEXT", "FOOTER-TEXT"):
        assert hidden not in doc.text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("evidence.docx", "some text", "unsupported"),
        ("noext", "some text", "unsupported"),
        ("binary.txt", b"PK\x03\x04\x00\x00binary\x00data", "binary"),
        ("latin1.txt", "Café au lait in Kyiv".encode("latin-1"), "UTF-8"),
        ("empty.txt", "", "empty"),
        ("blank.md", "  \n\n\t \n", "empty"),
        ("only-front-matter.md", '---\ntitle: "T"\n---\n\n', "no text"),
    ],
)
def test_unusable_documents_raise_input_error(tmp_path: Path, name: str, content: str | bytes, message: str):
    path = write(tmp_path / name, content)
    with pytest.raises(InputError, match=message) as info:
        load_document(path)
    assert str(path) in str(info.value)


def test_missing_document_raises_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="not found"):
        load_document(tmp_path / "missing.md")


def test_read_text_file_enforces_the_size_limit(tmp_path: Path):
    path = write(tmp_path / "article.txt", "x" * 101)
    with pytest.raises(InputError, match="limit"):
        read_text_file(path, max_chars=100, what="article")
    assert read_text_file(path, max_chars=101, what="article") == "x" * 101


def test_read_text_file_on_a_directory_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="directory"):
        read_text_file(tmp_path, what="article")


def test_iter_document_paths_skips_readmes_hidden_and_unsupported_files(tmp_path: Path):
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    for name in (
        "b.md",
        "a.txt",
        "sub/c.html",
        "README.md",
        "readme.txt",
        "sub/README",
        ".hidden.md",
        "_draft.md",
        "image.png",
        "data.json",
    ):
        write(folder / name, "text")
    found = iter_document_paths([folder])
    assert [p.relative_to(folder).as_posix() for p in found] == ["a.txt", "b.md", "sub/c.html"]


def test_iter_document_paths_keeps_explicit_files_and_rejects_missing_ones(tmp_path: Path):
    readme = write(tmp_path / "README.md", "explicitly named")
    assert iter_document_paths([readme]) == [readme]
    with pytest.raises(InputError, match="not found"):
        iter_document_paths([tmp_path / "missing"])


def test_nested_html_blocks_are_read_once_and_div_text_is_kept(tmp_path):
    from verify.documents import load_document

    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><p>Intro paragraph.</p><blockquote><p>Quoted words.</p></blockquote>"
        "<ul><li><p>Item one.</p></li></ul><div>Loose div text.</div></body></html>",
        encoding="utf-8",
    )
    text = load_document(page).text
    assert text.count("Quoted words.") == 1
    assert text.count("Item one.") == 1
    assert "Loose div text." in text


# ----- limits on what one document may cost, and links out of the ingested folder ---------------
def test_a_document_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path):
    big = tmp_path / "big.html"
    with big.open("wb") as f:  # a sparse 50 MB file: the size is checked, not the content
        f.truncate(50_000_000)
    with pytest.raises(InputError, match=r"50\.0 MB; the limit is 20\.0 MB"):
        load_document(big)


def test_deeply_nested_html_is_refused_with_a_clear_error(tmp_path: Path):
    deep = write(tmp_path / "deep.html", "<html><body>" + "<div>" * 100_000 + "text" + "</div>" * 100_000)
    with pytest.raises(InputError, match="nested more than 256 elements deep"):
        load_document(deep)


def test_many_unclosed_paragraphs_are_not_nesting(tmp_path: Path):
    flat = write(tmp_path / "flat.html", "<html><body>" + "".join(f"<p>Line {i}." for i in range(2_000)))
    doc = load_document(flat)
    assert "Line 1999." in doc.text


def test_html_that_takes_longer_than_the_time_limit_is_refused(tmp_path: Path):
    from verify.documents import DocumentLimits

    page = write(tmp_path / "slow.html", "<html><body>" + "<div><p>x</p></div>" * 5_000)
    with pytest.raises(InputError, match="max_parse_seconds"):
        load_document(page, DocumentLimits(max_seconds=1e-9))


def test_a_pdf_over_the_page_limit_is_refused(tmp_path: Path):
    from pypdf import PdfWriter

    from verify.documents import DocumentLimits

    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=200, height=200)
    pdf = tmp_path / "pages.pdf"
    with pdf.open("wb") as f:
        writer.write(f)
    with pytest.raises(InputError, match="3 pages; the limit is 2"):
        load_document(pdf, DocumentLimits(max_pdf_pages=2))


def test_links_out_of_the_ingested_folder_are_skipped_unless_asked(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    outside = tmp_path / "outside"
    outside.mkdir()
    write(outside / "secret.md", "Not for the store.")
    (outside / "sub").mkdir()
    write(outside / "sub" / "deep.txt", "Also outside.")
    folder = tmp_path / "docs"
    folder.mkdir()
    write(folder / "a.md", "Inside.")
    (folder / "link-in.md").symlink_to(folder / "a.md")
    (folder / "link-out.md").symlink_to(outside / "secret.md")
    (folder / "linked-dir").symlink_to(outside / "sub", target_is_directory=True)
    with caplog.at_level("WARNING", logger="verify"):
        names = [p.name for p in iter_document_paths([folder])]
    assert names == ["a.md", "link-in.md"]
    assert "link-out.md" in caplog.text
    followed = sorted(p.name for p in iter_document_paths([folder], follow_symlinks=True))
    assert followed == ["a.md", "deep.txt", "link-in.md", "link-out.md"]
    # a file named on the command line is read wherever it points
    assert iter_document_paths([folder / "link-out.md"]) == [folder / "link-out.md"]
