"""`civitas routes solve` as a dispatcher or a benchmark script uses it."""
import json
import pathlib

from conftest import ROOT, run

# C101 and R101, copied from the public Solomon set (sources in Tests/Fixtures/README.md).
SOLOMON = ROOT / "Tests" / "Fixtures" / "vrp" / "solomon"


def test_solve_prints_json_with_every_stop_once(tmp_path):
    code, out, err = run(["routes", "solve", str(SOLOMON / "C101.txt"), "--time-limit", "1", "--json"], cwd=tmp_path)
    assert code == 0, err
    result = json.loads(out)
    stops = [stop for route in result["routes"] for stop in route]
    assert sorted(stops) == list(range(1, 101))
    assert result["vehicles"] == len(result["routes"]) and result["vehicles"] <= 25
    assert result["distance"] > 0


def test_solve_text_output_lists_routes(tmp_path):
    code, out, err = run(["routes", "solve", str(SOLOMON / "R101.txt"), "--time-limit", "0.5"], cwd=tmp_path)
    assert code == 0, err
    assert out.startswith("R101: ") and "Route 1: " in out


def test_bad_files_name_the_line(tmp_path):
    bad = tmp_path / "bad.txt"
    lines = (SOLOMON / "C101.txt").read_text().splitlines()
    lines[12] = "    4      42         68         ten       727        782         90"
    bad.write_text("\n".join(lines) + "\n")
    code, out, err = run(["routes", "solve", str(bad), "--time-limit", "0.5"], cwd=tmp_path)
    assert code != 0 and out == ""
    assert "line 13" in err and "not a number" in err
    code, _, err = run(["routes", "solve", str(tmp_path / "missing.txt")], cwd=tmp_path)
    assert code != 0 and "cannot read" in err
    code, _, err = run(["routes", "solve", str(SOLOMON / "C101.txt"), "--time-limit", "-1"], cwd=tmp_path)
    assert code != 0 and "--time-limit" in err
