#!/usr/bin/env python3
"""Doxygen INPUT_FILTER: turns this project's plain `//` header comments into
Doxygen comments, so the API reference is generated from the comments as
they are written (STYLE.md: every public function's header comment states
what it computes, its cost and how it fails) without `///` markup in the
headers.

Rules (the output has exactly as many lines as the input, so Doxygen's line
numbers stay right):
  * the first comment block after `#pragma once` documents the file
    (`#pragma once` becomes `/// @file`);
  * a block of whole-line `//` comments at namespace, class or enum scope
    that is directly followed by a declaration (no blank line, no
    preprocessor line, no `namespace`, no closing brace, no access label)
    documents that declaration (`///`);
  * a trailing `// ...` after a member, an enumerator or a declaration at
    class, enum or namespace scope documents it (`///<`), and so do the
    whole-line comments aligned under it that continue it;
  * everything else (comments inside function bodies, section comments
    followed by a blank line) stays a plain comment;
  * what the headers add to third-party namespaces (the dual-number math of
    diff/dual_math.hpp in namespace Eigen, the tape math of
    diff/reverse_math.hpp in namespace Sacado) is blanked out: those
    overloads are not this library's API, and their files' comments list
    them.
Scope is tracked by counting braces outside strings and comments.

For the pages (docs/*.md) only links change, outside code blocks: a link
out of docs/ (into the repository: headers, examples, bench/README.md)
becomes its text and the repository path in code font, since the HTML
reference cannot follow it; a link to a heading (`page.md#heading`,
`#heading`) loses the heading, since Doxygen 1.9 gives Markdown headings no
GitHub-style anchors. Images and links between pages are kept.
In the converted comments, lines indented by two or three spaces under the
text (the headers' code examples and aligned lists) get two more, so that
Markdown shows them as code blocks, as the formulas indented by four
already are.
"""
import re
import sys

DECL_SCOPES = ("namespace", "class", "enum")
ACCESS = re.compile(r"^\s*(public|private|protected)\s*:")
PURE_COMMENT = re.compile(r"^(\s*)//(?!/)(.*)$")


def doc_block(block):
    """`// text` -> `/// text` for a block of whole-line comments, with the
    code-block indentation described above: a run of lines indented by at
    least three spaces whose least indented line has three or four gets two
    more on every line, so its alignment is kept."""
    parts = [re.match(r"^(\s*)//(.*)$", line).groups() for line in block]
    indent = [len(t) - len(t.lstrip(" ")) if t.strip() else -1 for _, t in parts]
    out = []
    i = 0
    while i < len(parts):
        if indent[i] >= 3:
            j = i
            while j < len(parts) and indent[j] >= 3:
                j += 1
            shift = "  " if min(indent[i:j]) <= 4 else ""
            out += [lead + "///" + shift + text for lead, text in parts[i:j]]
            i = j
        else:
            lead, text = parts[i]
            out.append(lead + "///" + text)
            i += 1
    return out


def code_and_comment(line):
    """Splits a line into its code and the column of a trailing `//`
    comment (-1 when none), skipping string and character literals."""
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in "\"'":
            q = c
            i += 1
            while i < n and line[i] != q:
                i += 2 if line[i] == "\\" else 1
            i += 1
            continue
        if line.startswith("//", i):
            return line[:i], i
        if line.startswith("/*", i):
            end = line.find("*/", i + 2)
            if end < 0:
                return line[:i], -1
            i = end + 2
            continue
        i += 1
    return line, -1


def strip_templates(text):
    """Removes leading `template <...>` heads (balanced angle brackets)."""
    text = text.strip()
    while text.startswith("template"):
        j = text.find("<")
        if j < 0:
            break
        depth, k = 0, j
        while k < len(text):
            if text[k] == "<":
                depth += 1
            elif text[k] == ">":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        text = text[k + 1 :].strip()
    return text


def scope_kind(statement):
    s = strip_templates(statement)
    s = re.sub(r"\[\[[^\]]*\]\]", "", s).strip()
    if re.match(r"^(inline\s+)?namespace\b", s):
        return "namespace"
    if re.match(r"^(typedef\s+)?enum\b", s):
        return "enum"
    if re.match(r"^(struct|class|union)\b", s) and "(" not in s.split("{")[0]:
        return "class"
    return "block"


LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def page_link(m):
    image, text, target = m.groups()
    if image or re.match(r"^(https?|mailto):", target):
        return m.group(0)
    path, _, _ = target.partition("#")
    if not path:
        return text
    if path.startswith("../"):
        repo_path = path[3:] or "."
        if text.strip("`") == repo_path or text.strip("`") == path:
            return "`" + repo_path + "`"
        return text + " (`" + repo_path + "`)"
    return "[" + text + "](" + path + ")"


def filter_page(path):
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    fenced = False
    out = []
    for line in lines:
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append(line)
            continue
        if fenced:
            out.append(line)
            continue
        # Only outside code spans.
        parts = line.split("`")
        for i in range(0, len(parts), 2):
            parts[i] = LINK.sub(page_link, parts[i])
        out.append("`".join(parts))
    sys.stdout.write("\n".join(out))


def main(path):
    if path.endswith(".md"):
        return filter_page(path)
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")

    # Pass 1: the scope each line starts in, and each line's code part.
    scope_at = []
    foreign = []  # inside a namespace of another library
    foreign_depth = None
    codes = []
    comment_cols = []
    stack = []
    statement = ""
    in_block_comment = False
    for line in lines:
        scope_at.append(stack[-1] if stack else "namespace")
        foreign.append(foreign_depth is not None)
        if in_block_comment:
            end = line.find("*/")
            if end < 0:
                codes.append("")
                comment_cols.append(-1)
                continue
            line = " " * (end + 2) + line[end + 2 :]
            in_block_comment = False
        code, col = code_and_comment(line)
        if "/*" in code and "*/" not in code[code.find("/*") :]:
            in_block_comment = True
            code = code[: code.find("/*")]
        codes.append(code)
        comment_cols.append(col)
        if code.lstrip().startswith("#"):
            continue
        for ch in code:
            if ch == "{":
                kind = scope_kind(statement)
                if kind == "namespace" and foreign_depth is None and re.search(
                    r"\bnamespace\s+(Eigen|Sacado)\b", statement
                ):
                    foreign_depth = len(stack)
                    foreign[-1] = True
                stack.append(kind)
                statement = ""
            elif ch == "}":
                if stack:
                    stack.pop()
                if foreign_depth is not None and len(stack) == foreign_depth:
                    foreign_depth = None
                statement = ""
            elif ch == ";":
                statement = ""
            else:
                statement += ch
        statement += " "

    out = list(lines)
    n = len(lines)

    # The file comment: the first comment block after `#pragma once`.
    i = 0
    while i < n and not lines[i].strip():
        i += 1
    if i < n and lines[i].strip() == "#pragma once":
        i += 1
        if i < n and PURE_COMMENT.match(lines[i]):
            head = i
            while i < n and PURE_COMMENT.match(lines[i]):
                i += 1
            out[head:i] = doc_block(lines[head:i])
            out[head - 1] = "/// @file"  # `#pragma once` means nothing to Doxygen
        first_free = i
    else:
        first_free = 0

    # Trailing comments and their aligned continuations.
    k = 0
    while k < n:
        col = comment_cols[k]
        code = codes[k]
        if (
            col >= 0
            and code.strip()
            and scope_at[k] in DECL_SCOPES
            and not code.lstrip().startswith("#")
            and not lines[k][col:].startswith("///")
        ):
            stripped = code.rstrip()
            if stripped.endswith((";", ",")) or scope_at[k] == "enum":
                out[k] = lines[k][:col] + "///<" + lines[k][col + 2 :]
                j = k + 1
                while j < n:
                    m = PURE_COMMENT.match(lines[j])
                    if not m or len(m.group(1)) != col:
                        break
                    out[j] = lines[j][:col] + "///<" + lines[j][col + 2 :]
                    codes[j] = "\0continued"
                    j += 1
                k = j
                continue
        k += 1

    # Whole-line comment blocks directly above a declaration.
    k = first_free
    while k < n:
        if PURE_COMMENT.match(lines[k]) and codes[k] != "\0continued":
            start = k
            while k < n and PURE_COMMENT.match(lines[k]) and codes[k] != "\0continued":
                k += 1
            nxt = lines[k] if k < n else ""
            s = nxt.strip()
            documents = (
                scope_at[start] in DECL_SCOPES
                and s
                and not s.startswith(("#", "}", "namespace", "//"))
                and not ACCESS.match(nxt)
            )
            if documents:
                out[start:k] = doc_block(lines[start:k])
            continue
        k += 1

    out = ["" if f else line for f, line in zip(foreign, out)]
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
