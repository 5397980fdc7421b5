-- wrk script for the 1 MiB upload scenario: POST a 1 MiB body to the URL given to wrk.
wrk.method = "POST"
wrk.body = string.rep("a", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
