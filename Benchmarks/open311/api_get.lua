-- GET /api/v1/service-requests/{id} with a partner's bearer token: authentication (JWT check), the rate-limit
-- counter, the read and its audit-chain entry (personal data is read), over the demo city's ids.
local max = tonumber(os.getenv("CIVITAS_MAX_ID") or "360")
local token = os.getenv("CIVITAS_TOKEN")
local counter = 0

request = function()
    counter = counter + 1
    local id = (counter * 7919) % max + 1
    return wrk.format("GET", "/api/v1/service-requests/" .. id .. "?purpose=benchmark", { ["Authorization"] = "Bearer " .. token })
end
