-- wrk script for the small-post scenario: POST a 512-byte body (an API call) to the URL given to wrk.
wrk.method = "POST"
wrk.body = string.rep("a", 512)
wrk.headers["Content-Type"] = "application/json"
