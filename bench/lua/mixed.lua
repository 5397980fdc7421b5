-- wrk script for the mixed scenario: on every keep-alive connection, 9 GETs of /small then a
-- 512-byte POST to /upload. (Built on first use: wrk sets the Host header after the script loads.)
local n = 0
local post, get
request = function()
  if get == nil then
    post = wrk.format("POST", "/upload", { ["Content-Type"] = "application/json" }, string.rep("a", 512))
    get = wrk.format("GET", "/small")
  end
  n = n + 1
  if n % 10 == 0 then return post end
  return get
end
