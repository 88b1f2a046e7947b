-- POST requests.json: a realistic bulky-item report with attributes, each at a slightly different place.
local key = os.getenv("CIVITAS_API_KEY") or error("CIVITAS_API_KEY is not set")
local counter = 0

request = function()
    counter = counter + 1
    local lat = 39.25 + (counter * 7919 % 1000) / 10000
    local long = -76.65 + (counter * 104729 % 1000) / 10000
    local body = "api_key=" .. key .. "&service_code=BULKY&lat=" .. lat .. "&long=" .. long
        .. "&address_string=" .. counter .. "+N+Charles+St&description=A+sofa+and+a+mattress+by+the+curb"
        .. "&attribute%5BITEMS%5D%5B%5D=furniture&attribute%5BITEMS%5D%5B%5D=mattress&attribute%5BCOUNT%5D=2"
        .. "&email=resident" .. counter .. "%40example.org"
    return wrk.format("POST", "/open311/v2/requests.json",
        { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end
