"""Writing config files for the tests of minicls.config (tests/test_config/)."""
import textwrap


def write(path, text):
    """Write a config file (creating folders) and return its path as a str."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)
