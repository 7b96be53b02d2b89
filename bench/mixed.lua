-- wrk script for bench/run's sustained mixed load: every route of the example API, in turn,
-- on every connection, and a count of the answers by status (wrk itself only counts
-- "Non-2xx or 3xx"). Prints one line at the end:
--   statuses 200=N 201=N ...
-- Used with -t1 (one Lua state that sends and counts).

local json = { ["Content-Type"] = "application/json" }
local requests = {}
local next_index = 0
statuses = {}

local function add(method, path, body)
   table.insert(requests, wrk.format(method, path, body and json or nil, body))
end

function init(args)
   for id = 1, 10 do
      add("GET", "/")
      add("GET", "/healthz")
      add("GET", "/v1/posts/" .. id)
      add("GET", "/v1/users/" .. id .. "/posts")
      add("GET", "/v1/users/" .. id .. "/overview")
      add("GET", "/proxy/posts/" .. id)
      add("GET", "/proxy/posts?userId=" .. id)
      add("GET", "/v1/posts/" .. id .. "/details")
      if id % 5 == 1 then
         add("GET", "/readyz")
         add("GET", "/v1/posts")
         add("POST", "/v1/posts", '{"title":"bench","body":"mixed load","userId":' .. id .. '}')
         add("POST", "/v1/todos/bulk",
             '[{"title":"a","userId":' .. id .. '},{"title":"b","userId":' .. id .. ',"completed":true},{"title":"c","userId":1}]')
      end
   end
end

function request()
   next_index = next_index % #requests + 1
   return requests[next_index]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function done(summary, latency, reqs)
   local total = {}
   for _, thread in ipairs(threads) do
      local counts = thread:get("statuses")
      for status, n in pairs(counts) do
         total[status] = (total[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(total) do
      table.insert(parts, status .. "=" .. n)
   end
   table.sort(parts)
   io.write("statuses " .. table.concat(parts, " ") .. "\n")
end
