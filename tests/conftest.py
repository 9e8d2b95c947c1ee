import os
import sys

sys.path.insert(0, os.path.dirname(__file__))


def pytest_collection_modifyitems(config, items):
    """Real-browser tests run last: Playwright's sync API keeps an event loop running in the
    main thread while a browser is open, which would break later tests that start their own
    (``asyncio.run``), and the browser tests are the slowest."""
    e2e = [item for item in items if "tests/e2e/" in item.nodeid or "tests\\e2e\\" in item.nodeid]
    if e2e:
        rest = [item for item in items if item not in e2e]
        items[:] = rest + e2e
