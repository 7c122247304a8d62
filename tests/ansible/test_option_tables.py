"""The option tables (plugins/module_utils/_options.py) and every place derived from them agree:
argument specs, doc fragments (modules and connection plugins), inventory and environment
fallbacks, the service settings' defaults and the connection plugins' option names.

Run as a script with --write to regenerate the doc fragments from the tables.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FRAGMENTS = ROOT / "plugins" / "doc_fragments"
SOURCES = ROOT / "plugins" / "module_utils" / "_option_sources.py"


def _collection_importable(base: Path) -> None:
    link = base / "ansible_collections" / "tether" / "fleet"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT, target_is_directory=True)
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))


def _load(name: str) -> Any:
    return importlib.import_module(f"ansible_collections.tether.fleet.plugins.{name}")


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> Any:
    _collection_importable(tmp_path_factory.mktemp("collections"))
    return _load


def test_doc_fragment_files_are_the_tables_rendering(plugins: Any) -> None:
    docs = plugins("module_utils._option_docs")
    for concern, summary in docs.SUMMARIES.items():
        written = (FRAGMENTS / f"{concern}.py").read_text()
        assert written == docs.fragment_source(concern, summary), (
            f"plugins/doc_fragments/{concern}.py is stale: run python3 tests/ansible/test_option_tables.py --write"
        )


def test_compact_sources_file_is_the_tables_rendering(plugins: Any) -> None:
    docs = plugins("module_utils._option_docs")
    assert SOURCES.read_text() == docs.sources_source(), (
        "plugins/module_utils/_option_sources.py is stale: run python3 tests/ansible/test_option_tables.py --write"
    )


def test_module_fragments_document_every_option_as_the_argument_spec_declares_it(plugins: Any) -> None:
    options = plugins("module_utils._options")
    argspec = plugins("module_utils._argspec")
    specs = {"service": argspec.SERVICE_OPTIONS, "target": argspec.TARGET_OPTIONS}
    for concern, table in options.TABLES.items():
        fragment = plugins(f"doc_fragments.{concern}").ModuleDocFragment
        documented = yaml.safe_load(fragment.DOCUMENTATION)["options"]
        spec = specs[concern]
        assert set(documented) == set(spec) == {o.name for o in table if o.for_modules()}
        for name, declared in spec.items():
            doc = documented[name]
            assert doc["type"] == declared["type"], name
            assert doc.get("choices") == declared.get("choices"), name
            assert doc.get("aliases") == declared.get("aliases"), name
            assert "default" not in declared and "default" not in doc, name  # resolved by the plugins
            text = " ".join(doc["description"])
            item = options.option(table, name)
            for source in (*item.variables, *item.env):  # every fallback is documented, in order
                assert source in text, (name, source)
            fallback = doc["description"][-1]  # the sentence rendered from the table's sources
            positions = [fallback.index(source) for source in (*item.variables, *item.env)]
            assert positions == sorted(positions), name
            if item.default is not None:
                assert f"V({str(item.default).lower().removesuffix('.0')})" in text, name
        for name in ("password", "enable_password", "token"):
            if name in spec:
                assert spec[name]["no_log"] is True


def test_connection_fragments_declare_the_same_sources_with_the_last_one_winning(plugins: Any) -> None:
    options = plugins("module_utils._options")
    for concern, table in options.TABLES.items():
        fragment = plugins(f"doc_fragments.{concern}").ModuleDocFragment
        documented = yaml.safe_load(fragment.CONNECTION)["options"]
        assert set(documented) == set(options.connection_names(table).values())
        for item in table:
            if not item.for_connections():
                continue
            doc = documented[item.plugin_name]
            assert doc["type"] == item.type
            variables = [v["name"] for v in doc.get("vars", [])]
            assert variables[::-1][: len(item.variables)] == list(item.variables), item.name
            assert [e["name"] for e in doc.get("env", [])][::-1] == list(item.env), item.name
            default = item.connection_default if item.connection_default is not None else item.default
            assert doc.get("default") == default, item.name


def test_runtime_fallbacks_and_defaults_come_from_the_tables(plugins: Any) -> None:
    options = plugins("module_utils._options")
    settings = plugins("module_utils._settings")
    target = plugins("module_utils._target")
    assert {name: (var, env) for name, (var, env) in settings.SERVICE_SOURCES.items()} == {
        o.name: (o.variables, o.env) for o in options.SERVICE
    }
    empty = settings.ServiceSettings()
    for name, default in options.defaults(options.SERVICE).items():
        assert getattr(empty, name) == default, name
    assert options.variables(options.TARGET) == target.INVENTORY_VARS
    assert options.option(options.TARGET, "driver").default == target.DEFAULT_DRIVER


def test_connection_plugins_read_the_options_the_tables_name(plugins: Any) -> None:
    options = plugins("module_utils._options")
    service_doc = yaml.safe_load(plugins("doc_fragments.service").ModuleDocFragment.CONNECTION)["options"]
    target_doc = yaml.safe_load(plugins("doc_fragments.target").ModuleDocFragment.CONNECTION)["options"]
    for name in ("pinned", "network_cli"):
        plugin = plugins(f"connection.{name}")
        assert options.connection_names(options.SERVICE) == plugin._SERVICE_OPTIONS
        assert set(plugin._SERVICE_OPTIONS.values()) <= set(service_doc)
    pinned = plugins("connection.pinned")
    assert options.connection_names(options.TARGET) == pinned._TARGET_OPTIONS
    assert set(pinned._TARGET_OPTIONS.values()) <= set(target_doc)


def _write() -> None:
    import tempfile

    _collection_importable(Path(tempfile.mkdtemp()))
    docs = _load("module_utils._option_docs")
    for concern, summary in docs.SUMMARIES.items():
        (FRAGMENTS / f"{concern}.py").write_text(docs.fragment_source(concern, summary))
    SOURCES.write_text(docs.sources_source())


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python3 tests/ansible/test_option_tables.py --write")
    _write()


def test_network_cli_documents_tethers_own_target_options_as_the_table(plugins: Any) -> None:
    """network_cli keeps netcommon's documentation of netcommon's options (it is a drop-in), and
    documents the target options only Tether has; those must match the table."""
    options = plugins("module_utils._options")
    source = (ROOT / "plugins" / "connection" / "network_cli.py").read_text()
    documented = yaml.safe_load(source.split('DOCUMENTATION = r"""')[1].split('"""')[0])["options"]
    for name in ("platform", "driver", "driver_options", "keepalive"):
        item = options.option(options.TARGET, name)
        doc = documented[name]
        assert doc["type"] == item.type, name
        assert doc.get("default") == item.default, name
        assert [v["name"] for v in doc["vars"]][::-1] == list(item.variables), name
