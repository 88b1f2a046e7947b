-- POST /api/v1/cases: a complete unemployment claim, sent (submit: true), each under its own Idempotency-Key, as a
-- state's intake portal or a partner system would send them in a surge.
local token = os.getenv("CIVITAS_TOKEN") or error("CIVITAS_TOKEN is not set")
local counter = 0
local threads = 0
-- `thread_id` is set in each wrk thread by setup(), so keys never repeat across threads.

setup = function(thread)
    threads = threads + 1
    thread:set("thread_id", threads)
end

request = function()
    counter = counter + 1
    local body = '{"type":"unemployment-claim","submit":true,"data":{"full_name":"Claimant ' .. counter
        .. '","birth_date":"1985-03-14","mailing_address":"' .. counter .. ' Cerrillos Rd, Santa Fe NM",'
        .. '"last_employer":"Acme Foods","last_day_worked":"2026-11-13","separation_reason":"laid_off",'
        .. '"weekly_earnings":' .. (counter % 400) .. ',"able_and_available":true}}'
    return wrk.format("POST", "/api/v1/cases", {
        ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token,
        ["Idempotency-Key"] = "bench-" .. (thread_id or 0) .. "-" .. counter .. "-" .. os.time(),
    }, body)
end

done = function(summary, latency, requests)
    io.write(string.format("non-201 answers: %d\n", summary.errors.status))
end
