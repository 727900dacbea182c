"""The monitoring checker (deploy/tools/monitoring.py) on its own: it finds the metrics a query
reads (not its labels, not recording rules' names), flags a malformed dashboard, and the shipped
dashboards read only documented metrics."""

from __future__ import annotations

from deploy.tools.monitoring import (
    dashboard_problems,
    dashboards,
    documented_metrics,
    metric_names,
    runbook_problems,
)


def test_metric_names_skip_labels_and_recording_rules() -> None:
    expression = (
        "sum by (rpc_service, betmesh_sport) (rate(rpc_server_duration_milliseconds_count"
        '{rpc_grpc_status_code=~"13", betmesh_error_reason!=""}[5m]))'
        " / betmesh:quote_availability:ratio_rate5m + max(betmesh_bets_return_to_player)"
    )
    assert metric_names(expression) == {
        "rpc_server_duration_milliseconds",
        "betmesh_bets_return_to_player",
    }


def test_a_malformed_dashboard_is_reported() -> None:
    board = {
        "uid": "x",
        "title": "x",
        "panels": [
            {
                "id": 1,
                "type": "stat",
                "title": "a",
                "gridPos": {"h": 1, "w": 1, "x": 0, "y": 0},
                "targets": [{"refId": "A", "expr": "up"}],
            },
            {"id": 1, "type": "stat", "title": "b", "gridPos": {"h": 1}, "targets": [{}]},
        ],
    }
    problems = dashboard_problems("x.json", board)
    assert any("duplicate id" in p for p in problems)
    assert any("gridPos" in p for p in problems)
    assert any("expr and refId" in p for p in problems)
    assert dashboard_problems("y.json", {"panels": []}) != []


def test_shipped_dashboards_read_documented_metrics() -> None:
    # The rules are checked the same way by `python -m deploy.tools.monitoring` (deploy/check.sh).
    documented = documented_metrics()
    assert "rpc_server_duration_milliseconds" in documented
    expressions: list[str] = []
    boards = dashboards()
    assert set(boards) >= {"mesh.json", "sports.json", "money.json"}
    for name, board in boards.items():
        assert dashboard_problems(name, board) == []
        expressions += [t["expr"] for p in board["panels"] for t in p["targets"]]
    read = set().union(*(metric_names(e) for e in expressions))
    assert read <= documented, read - documented


def test_an_alert_whose_runbook_leads_nowhere_is_reported() -> None:
    # The shipped rules are checked by `python -m deploy.tools.monitoring` (it has PyYAML);
    # two of their links led nowhere before this check (dead-letters, oracle-backlog).
    groups = [
        {
            "name": "g",
            "rules": [
                {"record": "a:b:c", "expr": "up"},
                {"alert": "Documented", "annotations": {"runbook": "docs/operations.md#here"}},
                {"alert": "Dangling", "annotations": {"runbook": "docs/operations.md#gone"}},
                {"alert": "Elsewhere", "annotations": {"runbook": "https://wiki/x"}},
                {"alert": "None"},
            ],
        }
    ]
    problems = runbook_problems(groups, 'text <a id="here"></a> text')
    assert [p.split(":")[0] for p in problems] == ["Dangling", "Elsewhere", "None"]
