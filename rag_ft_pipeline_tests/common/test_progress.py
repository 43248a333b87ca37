import logging

import pytest

from rag_ft_pipeline.common.progress import progress_logger


def test_the_first_report_and_the_end_are_logged_and_the_rest_throttled(caplog: pytest.LogCaptureFixture):
    log = logging.getLogger("progress-test")
    report = progress_logger(log, "embedding", every_seconds=3600)
    with caplog.at_level(logging.INFO, logger="progress-test"):
        for done in (512, 1024, 1536, 2000):
            report(done, 2000)
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(" (")[0] for line in lines] == ["embedding: 512/2000", "embedding: 2000/2000"]
    assert "left" in lines[0]
