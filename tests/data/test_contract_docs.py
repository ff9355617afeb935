from pathlib import Path

from credit_models.data.contract_docs import render_markdown


def test_data_readme_documents_the_contract_as_declared():
    readme = (Path(__file__).resolve().parents[2] / "data" / "README.md").read_text()
    assert render_markdown() in readme, (
        "data/README.md is out of date: regenerate its column reference with "
        "`python -m credit_models.data.contract_docs`"
    )
