"""Each rule declares itself once (rules/rule.py), and what it declares is what it does.

The fixes a rule emits must be of the kinds its declaration names: checked here on the test
fixtures (the article, the sample apps, the tables of DF002-DF005) and in test_corpus.py on every
corpus case, both with unsafe fixes and offline.
"""

from __future__ import annotations

import importlib
import pickle
import shutil
from dataclasses import replace

import pytest

from dockfix.context import Options
from dockfix.edits import Applicability
from dockfix.rules import RULES, UnknownSelector, check_selectors, node_env_production, rule_by_code, select_rules
from dockfix.rules.rule import Rule
from dockfix.run import Settings
from rules.test_df002_production_dependencies import PRODUCTION_DEPENDENCIES, PRODUCTION_DEPENDENCIES_UNTOUCHED
from rules.test_df003_node_env_production import NODE_ENV, NODE_ENV_UNTOUCHED
from rules.test_df004_non_root_user_tables import NON_ROOT, NON_ROOT_UNTOUCHED
from rules.test_df005_exec_form_init_tables import SIGNALS, SIGNALS_UNTOUCHED
from support.fixing import fix_folder, make_project, undeclared_fixes
from support.paths import FIXTURES
from support.rule_runs import LOCK, PKG

APPS = sorted(path for path in (FIXTURES / "apps").iterdir() if path.is_dir() and not path.name.startswith("_"))
CORE_SOURCES = [
    *(before for before, _after in PRODUCTION_DEPENDENCIES),
    *PRODUCTION_DEPENDENCIES_UNTOUCHED,
    *(before for before, _after in NODE_ENV),
    *NODE_ENV_UNTOUCHED,
    *(before for before, _after in NON_ROOT),
    *NON_ROOT_UNTOUCHED,
    *(before for before, _unsafe, _after in SIGNALS),
    *SIGNALS_UNTOUCHED,
]


def _declaration(**changes) -> Rule:
    fields = {
        "code": "DF999",
        "name": "some-rule",
        "summary": "Do the thing",
        "fix_safety": {Applicability.UNSAFE: "changing it", Applicability.SAFE: "rewording it"},
        "docs": "The thing, done.\n\n## What it does\nIt.\n",
        "check": node_env_production.check,
    }
    return Rule(**{**fields, **changes})


def test_the_table_keeps_the_order_fixes_are_applied_in():
    assert [rule.code for rule in RULES] == [
        "DF000",
        "DF001",
        "DF007",
        "DF005",
        "DF002",
        "DF003",
        "DF004",
        "DF006",
        "DF010",
        "DF008",
        "DF011",
        "DF009",
    ]


@pytest.mark.parametrize("rule", RULES, ids=[rule.code for rule in RULES])
def test_each_rule_is_declared_once_by_the_module_that_checks_it(rule):
    module = importlib.import_module(rule.module)
    assert module.RULE is rule
    assert rule.check is module.check
    assert rule.docs is module.__doc__ and rule.summary
    assert rule.fix_safety or "## Fix safety\nNo fixes." in rule.docs, "a rule without fixes says so"
    assert not {"CODE", "NAME", "SUMMARY", "FIX_SAFETY"} & set(vars(module)), "declared twice"
    assert not rule.title.startswith(rule.code), "the docstring's title repeats the code the declaration gives"


def test_codes_and_names_are_unique():
    assert len({rule.code for rule in RULES}) == len({rule.name for rule in RULES}) == len(RULES)


def test_the_rules_of_a_run_survive_the_trip_to_a_worker_process():
    settings = Settings(rules=list(RULES), options=Options())
    copied = pickle.loads(pickle.dumps(settings))
    assert copied.rules == list(RULES)
    assert [hash(rule) for rule in copied.rules] == [hash(rule) for rule in RULES]


def test_fix_safety_is_rendered_in_the_order_of_applicability_whatever_the_declaration_order():
    assert _declaration().fix_safety_text == "safe (rewording it); unsafe (changing it)"
    assert _declaration(fix_safety={Applicability.SAFE: ""}).fix_safety_text == "safe"
    assert _declaration(fix_safety={}).fix_safety_text == "none"
    assert _declaration().applicabilities == {Applicability.SAFE, Applicability.UNSAFE}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"code": "DF12"}, "not of the form DF123"),
        ({"name": "Some Rule"}, "lower-case words joined by hyphens"),
        ({"fix_safety": {"safe": "always"}}, "must map Applicability members"),
    ],
)
def test_a_malformed_declaration_is_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        _declaration(**changes)


def test_explain_titles_the_documentation_and_names_the_module_file():
    rule = rule_by_code("node-env-production")
    text = rule.explanation
    assert text.startswith(f"DF003 node-env-production: {rule.title}\n\n## What it does\n")
    assert text.endswith("\nSource: " + str(rule.source_path))
    assert rule.source_path.name == "node_env_production.py" and rule.source_path.is_file()


@pytest.mark.parametrize(
    "given, checked",
    [
        (["df00"], ["DF00"]),
        (["DF003", " non-root-user "], ["DF003", "non-root-user"]),
        (["Dockerignore"], ["dockerignore"]),
    ],
)
def test_selectors_are_codes_prefixes_or_names(given, checked):
    assert check_selectors(given) == checked
    assert select_rules(checked, None)


@pytest.mark.parametrize("selector", ["XX1", "", "DF0003", "node"])
def test_a_selector_that_names_no_rule_is_refused(selector):
    with pytest.raises(UnknownSelector, match=f"unknown rule code or name: {selector}$"):
        check_selectors(["DF001", selector])


def _assert_declared(result, what: str) -> None:
    assert result.error is None, f"{what}: {result.error}"
    assert undeclared_fixes(result) == [], what


def test_the_article_gets_only_declared_fixes(tmp_path):
    folder = tmp_path / "article"
    shutil.copytree(FIXTURES / "article", folder)
    result = fix_folder(folder)
    assert result.applied, "the article's Dockerfile has fixes to check"
    _assert_declared(result, "article")


@pytest.mark.parametrize("app", APPS, ids=[app.name for app in APPS])
def test_each_sample_app_under_the_articles_dockerfile_gets_only_declared_fixes(app, tmp_path):
    folder = tmp_path / app.name
    shutil.copytree(app, folder)
    shutil.copy(FIXTURES / "article" / "Dockerfile", folder / "Dockerfile")
    _assert_declared(fix_folder(folder), app.name)


@pytest.mark.parametrize("source", CORE_SOURCES)
def test_the_core_tables_get_only_declared_fixes(source, tmp_path):
    folder = make_project(tmp_path, source, package_json=PKG, files=LOCK)
    _assert_declared(fix_folder(folder), source)


def test_a_fix_of_an_undeclared_kind_is_caught(tmp_path):
    # The check above can fail: DF004 emits display-only fixes (a port below 1024), which DF009's
    # declaration lacks.
    folder = make_project(tmp_path, 'FROM node:22\nCOPY . .\nEXPOSE 80\nCMD ["node", "a.js"]\n')
    result = fix_folder(folder, select=["DF004"])
    assert [f.fix.applicability for f in result.remaining if f.fix] == [Applicability.DISPLAY_ONLY]
    assert undeclared_fixes(result) == []
    result.remaining = [replace(finding, code="DF009") for finding in result.remaining]
    assert undeclared_fixes(result) == [
        f"DF009 emits a display-only fix it does not declare: {result.remaining[0].message}"
    ]
