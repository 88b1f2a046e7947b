-- GET requests/{id}.json over the demo city's ids (1..CIVITAS_MAX_ID), spread so caches do not flatter us.
local max = tonumber(os.getenv("CIVITAS_MAX_ID") or "360")
local counter = 0

request = function()
    counter = counter + 1
    local id = (counter * 7919) % max + 1
    return wrk.format("GET", "/open311/v2/requests/" .. id .. ".json")
end
