"""Every suite: a unit of work opened for reading that writes fails at once (app/store.py CHECK_WRITES_ENV,
UndeclaredWrite), so a writer left undeclared (it would take the write lock late and could fail under a sync) is
found by any test that runs it. Set in the environment (not imported: some tests check what the app imports), so
the app's processes that tests start check it too."""

import os

os.environ["RENTDESK_CHECK_WRITES"] = "1"
