-- wrk script of bench/webhooks.py: cycles through pre-signed Stripe webhook requests.
--
-- Arguments after `--`: the request file and the number of wrk threads. The file holds one
-- record per request, in sending order: "<Stripe-Signature> <body length>\n<body>". Thread
-- t (from 0) sends records t, t + threads, t + 2 * threads, ... and starts over at the end.
-- done() prints one line, "bench-result {json}", with wrk's figures and, per thread, the
-- requests it made, how often it started over and the statuses it got.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  local file = assert(io.open(path, "rb"))
  requests, position, made, wraps, statuses = {}, 0, 0, 0, {}
  local index = 0
  while true do
    local line = file:read("*l")
    if not line then break end
    local signature, length = line:match("^(%S+) (%d+)$")
    local body = file:read(tonumber(length))
    if index % nthreads == id then
      requests[#requests + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json; charset=utf-8",
        ["Stripe-Signature"] = signature,
      }, body)
    end
    index = index + 1
  end
  file:close()
  assert(#requests > 0, "no requests for thread " .. id .. " in " .. path)
  -- wrk calls the first thread's request() once before the run, to check the request it
  -- builds, and never sends that one: answer it without using up a record.
  verifying = id == 0
end

function request()
  if verifying then
    verifying = false
    return requests[1]
  end
  position = position + 1
  if position > #requests then
    position, wraps = 1, wraps + 1
  end
  made = made + 1
  return requests[position]
end

function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency)
  local per_thread = {}
  for _, thread in ipairs(threads) do
    local codes = {}
    for status, n in pairs(thread:get("statuses")) do
      codes[#codes + 1] = string.format('"%d": %d', status, n)
    end
    per_thread[#per_thread + 1] = string.format(
      '{"made": %d, "wraps": %d, "statuses": {%s}}',
      thread:get("made"), thread:get("wraps"), table.concat(codes, ", "))
  end
  local e = summary.errors
  io.write(string.format(
    'bench-result {"duration_us": %d, "requests": %d, "errors": {"connect": %d, ' ..
    '"read": %d, "write": %d, "status": %d, "timeout": %d}, "p50_us": %d, ' ..
    '"p99_us": %d, "threads": [%s]}\n',
    summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), table.concat(per_thread, ", ")))
end
