"""The `rem` marker names requirements and lands in the test report."""

pytest_plugins = ["pytester"]


def test_rem_ids_are_recorded_on_the_report(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.rem("RIS.DMP/va1.13", "SC.INS/va1.01")
        def test_sends():
            assert True
        """
    )
    result = pytester.runpytest("--junitxml=out.xml")
    result.assert_outcomes(passed=1)
    junit = (pytester.path / "out.xml").read_text()
    assert 'name="rem" value="RIS.DMP/va1.13"' in junit
    assert 'name="rem" value="SC.INS/va1.01"' in junit


def test_rem_marker_selects_with_k_and_m(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.rem("RIS.DMP/va1.13")
        def test_dmp():
            assert True

        def test_other():
            assert True
        """
    )
    result = pytester.runpytest("-m", "rem")
    result.assert_outcomes(passed=1, deselected=1)
