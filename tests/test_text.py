"""Lexical terms, sentence splitting, HTML visible text and furniture cleaning."""

from __future__ import annotations

from bot.platforms.chat_text import excerpt
from index.clipping import clip_words
from index.lexical import stem, to_terms
from index.sentences import sentence_spans, split_sentences
from ingest.clean import clean_blocks, is_furniture
from ingest.document import Block
from ingest.html_text import HtmlBlock, is_navigation_page, visible_text


def test_to_terms_drops_stop_words_and_stems() -> None:
    assert to_terms("What are the models trained on?") == ["model", "train"]


def test_stem_joins_inflections() -> None:
    assert stem("released") == stem("releases") == stem("release")
    assert stem("running") == "run"
    assert stem("class") == "class"


def test_split_sentences_keeps_abbreviations_together() -> None:
    text = "The U.S. government acted. Then Mr. Smith left! Is it true? Yes, Sec. 2(d) says so."
    assert split_sentences(text) == [
        "The U.S. government acted.",
        "Then Mr. Smith left!",
        "Is it true?",
        "Yes, Sec. 2(d) says so.",
    ]


def test_sentence_spans_point_at_verbatim_text() -> None:
    text = "  First one.  Second “quoted.” Third"
    for start, end in sentence_spans(text):
        assert text[start:end] == text[start:end].strip()
        assert text[start:end] in text
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "First one.",
        "Second “quoted.”",
        "Third",
    ]


def test_visible_text_skips_scripts_styles_and_navigation() -> None:
    html = """<html><head><title>The  Page</title><style>p {color: red}</style></head>
    <body><nav><a href="/">Home</a> | About</nav><div role="navigation">Menu</div>
    <h1>Heading</h1><p>Real <b>content</b> &amp; more.</p><script>alert("x")</script>
    <footer>Copyright</footer></body></html>"""
    page = visible_text(html)
    assert page.title == "The Page"
    assert page.blocks == [HtmlBlock("Heading", 1), HtmlBlock("Real content & more.", 0)]


def test_visible_text_gives_headings_the_ids_each_generator_puts_them_under() -> None:
    html = """<section id="install"><h1>Install<a class="headerlink" href="#install">¶</a></h1>
    <p>Intro.</p><section id="reqs"><h2>Requirements</h2><p>Python.</p></section></section>
    <h2 id="tabs-direct" class="anchor">MkDocs and Docusaurus</h2><p>On the heading.</p>
    <div class="sect1"><h2 class="title"><a name="INSTALL-DB"></a>DocBook</h2><p>Inside.</p></div>
    <h3>No id</h3><p>Plain.</p>"""
    headings = [(b.text, b.anchor) for b in visible_text(html).blocks if b.level]
    assert headings == [
        ("Install", "install"),
        ("Requirements", "reqs"),  # Sphinx: the enclosing <section>
        ("MkDocs and Docusaurus", "tabs-direct"),
        ("DocBook", "INSTALL-DB"),
        ("No id", ""),
    ]


def test_visible_text_keeps_structure_and_drops_link_lists() -> None:
    html = """<title>Stash | Docs</title><h1>Stash</h1>
    <ul><li><a href="a">Previous</a> | <a href="b">Up</a></li></ul>
    <h2>Options <a class="headerlink" href="#o">¶</a></h2>
    <dl><dt>-u</dt><dt>--include-untracked</dt><dd><p>Untracked files are stashed too.</p></dd></dl>
    <table><tr><th>Name</th><th>Default</th></tr><tr><td>depth</td><td>1</td></tr></table>
    <pre>git stash push
    git stash pop</pre>
    <p>See <a href="x">git-reset</a> for the way to drop a commit.</p>"""
    page = visible_text(html)
    assert page.blocks == [
        HtmlBlock("Stash", 1),
        HtmlBlock("Options", 2, anchor="o"),  # the "¶" link's target
        HtmlBlock("-u, --include-untracked: Untracked files are stashed too.", 0),
        HtmlBlock("Name | Default", 0),
        HtmlBlock("depth | 1", 0),
        HtmlBlock("git stash push\n    git stash pop", 0, code=True),
        HtmlBlock("See git-reset for the way to drop a commit.", 0),
    ]
    assert not is_navigation_page(page)


def test_prose_wrapped_by_hand_in_pre_reads_as_a_paragraph_and_code_keeps_its_lines() -> None:
    # AsciiDoc renders an indented paragraph as <pre>: Git's howtos are full of them.
    prose = """<pre>The
maintainer often adds an extra commit, with "SQUASH???" in its
title, to fix things up, before publishing the integration
branches. These changes are what the maintainer is not 100% committed to.</pre>"""
    code = """<pre>[user]
    name = Your Name and more words
    email = you@example.com, as the rest of the file says.</pre>
<pre>$ git checkout -b topic
$ edit and compile and test until it works
$ git commit --all --message "Add the frotz feature"</pre>
<pre>System check identified no issues.
You have unapplied migrations; your app may not work properly.
Run it.</pre>
<pre>def handler(request):
    return HttpResponse("It works, and so does the rest.")</pre>"""
    (paragraph,) = visible_text(prose).blocks
    assert not paragraph.code
    assert 'commit, with "SQUASH???" in its title, to fix things up, before' in paragraph.text
    blocks = visible_text(code).blocks
    assert [block.code for block in blocks] == [True] * 4
    assert all("\n" in block.text for block in blocks)


def test_visible_text_recognises_an_index_page() -> None:
    entries = "".join(
        f'<li><a href="p{n}.html">Entry number {n}</a> (module)</li>' for n in range(50)
    )
    page = visible_text(f"<h1>Index</h1><ul>{entries}</ul>")
    assert is_navigation_page(page) and page.link_share > 0.6


def test_visible_text_survives_malformed_html() -> None:
    page = visible_text("<p>one <div>two</p></span><p>three <b>four")
    assert page.title == ""
    assert [block.text for block in page.blocks] == ["one", "two", "three four"]


def test_is_furniture_recognises_navigation_and_newsletter_lines() -> None:
    for line in (
        "Return to Articles",
        "Related Articles",
        "View All",
        "Subscribe to The Batch",
        "Stay updated with weekly AI News and Insights delivered to your inbox",
        "Reading time",
        "2 min read",
    ):
        assert is_furniture(line), line
    for line in ("The AI Alliance", "Subscribers to the plan pay less.", "Related work shows X"):
        assert not is_furniture(line), line


def test_clean_blocks_strips_truncation_marker_and_repeats() -> None:
    paragraph = "A paragraph long enough to count as content for deduplication."
    blocks = (
        Block(paragraph, False, "line", 1, 1),
        Block("Related Articles", False, "line", 2, 2),
        Block("Kept text ... (truncated, 7 KB total)e15d1209a99e5598", False, "line", 3, 3),
        Block(paragraph, False, "line", 4, 4),
    )
    assert [b.text for b in clean_blocks(blocks)] == [paragraph, "Kept text"]


def test_clip_words_keeps_a_word_that_fits_and_never_passes_the_limit() -> None:
    assert clip_words("short enough", 20) == "short enough"
    # "alpha beta" is 10 characters: with the ellipsis it fits 11 exactly, so beta stays.
    assert clip_words("alpha beta gamma", 11) == "alpha beta…"
    assert clip_words("alpha betas gamma", 11) == "alpha…"  # "betas" doesn't fit: left out
    assert clip_words("one, two; three", 6) == "one…"  # no dangling punctuation
    assert clip_words("x" * 50, 10) == "x" * 9 + "…"  # one long word is cut inside
    for limit in range(1, 40):
        assert len(clip_words("the quick brown fox jumps over the lazy dog", limit)) <= limit


def test_an_excerpt_shows_the_quoted_part_of_a_long_passage() -> None:
    intro = "\n".join(f"Line {n} says little about the matter at hand." for n in range(30))
    answer = "Wool is washed in cold water before spinning."
    after = "\n".join(f"Then step {n} follows." for n in range(20))
    passage = f"{intro}\n{answer}\n{after}"
    shown = excerpt(passage, ["washed in cold water"], 200)
    assert shown.startswith("…" + answer) and len(shown) <= 200
    near_end = excerpt(f"{intro}\n{answer}", [answer], 200)
    assert near_end.endswith(answer) and len(near_end) <= 200  # the room filled from before
    folded = " ".join(f"{intro}\n{answer}".split())
    assert near_end.startswith("…") and folded.endswith(" " + near_end[1:])  # from a whole word
    assert excerpt(passage, ["not in the passage"], 200).startswith("Line 0 says")
    assert (
        excerpt("Short passage.\nWool is washed.", ["Wool"], 200)
        == "Short passage. Wool is washed."
    )
    # A heading or a command line ends without punctuation: the break stays visible.
    structured = "EXAMPLES\ngit push: Works like git push <remote>.\nOPTIONS\n--all: Push all."
    assert excerpt(structured, ["Push all."], 500) == (
        "EXAMPLES · git push: Works like git push <remote>. OPTIONS · --all: Push all."
    )


def test_an_excerpt_shows_what_the_passage_says_about_the_question_beyond_the_quotes() -> None:
    heading = "Washing wool by hand"
    filler = "\n".join(f"Line {n} says little about the matter at hand." for n in range(12))
    quoted = "Wool felts when it is rubbed in warm water."
    command = "To keep wool from felting, wash it in cold water with a little soap."
    passage = f"{heading}\n{filler}\n{quoted}\n{command}\n" + "\n".join(
        f"Then step {n} follows." for n in range(20)
    )
    question = "how do I wash wool without it felting?"
    shown = excerpt(passage, [quoted], 200, question)
    # The stretch whose unquoted words hold most of the question's (the heading holds two of
    # three, the command all three), the earliest such: the quote comes along as context.
    assert shown.startswith("…Line 10 says") and len(shown) <= 200
    assert " ".join(command.split()[:8]) in shown and heading not in shown
    # Where the quotes hold all the question's words the question shows, the excerpt cuts at
    # the first quote, as without a question.
    assert excerpt(passage, [quoted, command, heading], 200, "rubbed warm") == excerpt(
        passage, [quoted, command, heading], 200
    )
    assert excerpt(passage, [quoted], 200, "rubbed warm").startswith("…" + quoted)
    # Of two stretches holding as many of its words, the earlier: the section's heading.
    assert excerpt(passage, [quoted], 5000, question) == excerpt(passage, [quoted], 5000)
    assert excerpt(f"{heading}\n{filler}\n{command}", [], 200, "wash wool").startswith(heading)


def test_an_excerpt_keeps_a_title_ending_in_a_bracket_apart_from_the_sentence_after_it() -> None:
    title = "What policy makers need to know about AI (and what goes wrong if they don't)"
    passage = f"{title}\nNearly all AI safety work starts here (see below).\nIt ends."
    shown = excerpt(passage, [], 500)
    assert f"{title} · Nearly all" in shown  # a heading: set apart
    assert "(see below). It ends." in shown  # a sentence closed inside a bracket: read on


def test_sphinx_source_links_and_field_list_colons_are_not_text() -> None:
    # Django's API entries showed "reverse(viewname)[source]: …" (viewcode's link to the
    # module), and pytest's field lists "Exit code 0:: All tests …" (the term's own colon).
    html = (
        '<dl><dt>reverse(viewname)<a class="reference internal" href="../_modules/x.html">'
        '<span class="viewcode-link"><span class="pre">[source]</span></span></a></dt>'
        "<dd><p>Returns the path.</p></dd></dl>"
        '<dl class="field-list"><dt>Exit code 0<span class="colon">:</span></dt>'
        "<dd><p>All tests passed</p></dd></dl>"
    )
    assert [block.text for block in visible_text(html).blocks] == [
        "reverse(viewname): Returns the path.",
        "Exit code 0: All tests passed",
    ]


def test_inline_code_in_a_sentence_stays_marked_as_code() -> None:
    # Django's docs set template syntax in a sentence as code: read as plain words, the chat
    # showed "{{ form }}" as if a template had leaked into the answer.
    html = (
        "<h2>The <code>form</code> tag</h2>"
        '<p>Use <code class="docutils literal"><span class="pre">{{</span> '
        '<span class="pre">form</span> <span class="pre">}}</span></code> in a template. '
        "<tt>QuerySet</tt> objects are lazy.</p>"
        "<p><code>git commit --amend</code></p>"
        "<dl><dt><code>set_cookie</code>(key)</dt><dd>Sets a <code>cookie</code>.</dd></dl>"
        "<pre>echo <code>$HOME</code></pre>"
    )
    blocks = [(block.text, block.level, block.code) for block in visible_text(html).blocks]
    assert blocks == [
        ("The form tag", 2, False),  # a heading never carries marks
        ("Use `{{ form }}` in a template. `QuerySet` objects are lazy.", 0, False),
        ("git commit --amend", 0, False),  # a line that is one command whole reads as code
        ("set_cookie(key): Sets a `cookie`.", 0, False),  # the term reads plain
        ("echo $HOME", 0, True),  # code blocks show what is typed
    ]
    # A sentence may open with a name set apart as code.
    assert split_sentences(blocks[1][0]) == [
        "Use `{{ form }}` in a template.",
        "`QuerySet` objects are lazy.",
    ]


def test_an_excerpt_marks_its_code_lines_as_code_and_never_leaves_one_open() -> None:
    passage = "To check a permission in a template:\n{% if perms.foo %}\nThen show the link."
    assert excerpt(passage, [], 500) == (
        "To check a permission in a template: `{% if perms.foo %}` · Then show the link."
    )
    long_code = "x = compute(" + ", ".join(f"arg{n}" for n in range(80)) + ")"
    shown = excerpt(f"Call it like this:\n{long_code}", [], 120)
    assert shown.count("`") == 0 and shown.endswith("…")  # cut inside: its mark goes too
    # A code block's line is code though it reads as words ("cd trunk"): the page says so.
    block = "Enter the trunk:\n  cd trunk\nYou are there."
    assert excerpt(block, [], 500, code_lines=("cd trunk",)) == (
        "Enter the trunk: `cd trunk` · You are there."
    )
    assert excerpt(block, [], 500) == "Enter the trunk: cd trunk · You are there."
