-- wrk script for the small-close scenario: every request asks the proxy to close its connection
-- (`Connection: close`), so wrk opens a new one for each — the cost of accepting, serving and
-- closing a connection, as clients without keep-alive (ab's default, many scripts) impose it.
wrk.headers["Connection"] = "close"
