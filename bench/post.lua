-- wrk script: POST one generic alert with the token from the environment.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("SOAR_BENCH_TOKEN") or "none")
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"title": "Bench alert %d", "severity": "low", "confidence": 40, "entity": {"type": "ip", "value": "198.51.100.%d"}}',
    counter, counter % 250)
  return wrk.format(nil, nil, nil, body)
end
