"""The README's first two commands, and its tables, stay true."""

from tests.readme import ROOT, render


def test_readme_is_rendered_from_its_template() -> None:
    assert (ROOT / "README.md").read_text() == render(), "run scripts/render-readme"


def test_readme_opens_with_the_two_commands_for_a_fresh_machine() -> None:
    first_block = (ROOT / "README.md").read_text().split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["scripts/run-local", "scripts/test"]
    assert all((ROOT / command).stat().st_mode & 0o111 for command in commands)


def test_ci_runs_the_readme_test_command() -> None:
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
