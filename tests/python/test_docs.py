"""The Python in docs/python.md runs as written: every ```python block, in
order, in one namespace (the quickstart block is also
examples/python/deq_quickstart.py, and must stay identical to it)."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def python_blocks():
    text = (ROOT / "docs" / "python.md").read_text()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_the_quickstart_in_the_docs_is_the_example_file():
    example = (ROOT / "examples" / "python" / "deq_quickstart.py").read_text()
    body = example.split('"""', 2)[2].lstrip("\n")  # without the shebang and docstring
    assert python_blocks()[0] == body


def test_every_python_block_of_the_docs_runs(capsys):
    namespace = {}
    for block in python_blocks():
        exec(compile(block, "docs/python.md", "exec"), namespace)
    assert namespace["accuracy"] > 0.9  # the quickstart's claim: about 97%
    assert namespace["info"].forward.certified()  # the last block's inverse
