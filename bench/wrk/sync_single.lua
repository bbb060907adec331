-- Single-op POST /api/v1/sync: each request redeems the next pre-issued key (unique op_id) on one of
-- the funded accounts, round robin. Data (token, accounts, keys) comes from $WRK_DATA; one wrk thread.
-- $WRK_OFFSET: keys already used by earlier slices of the run (each slice starts after them).
local data = dofile(os.getenv("WRK_DATA"))
local offset = tonumber(os.getenv("WRK_OFFSET") or "0")
dofile(os.getenv("WRK_REPORT"))

local sent = offset
local answered = offset
local client_id = "0b5e1c7a-0000-4000-8000-" .. string.format("%012x", 1)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. data.token

function request()
   sent = sent + 1
   local key = data.keys[sent]
   if key == nil then
      -- never re-send a key: the run is bounded by the keys issued for it
      key = data.keys[#data.keys]
   end
   local account = data.accounts[(sent % #data.accounts) + 1]
   local op_id = string.format("%s-%04x-4%03x-8000-%012x", data.run, math.floor(sent / 65536) % 65536, 0, sent)
   local body = string.format(
      '{"client_id": "%s", "ops": [{"op_id": "%s", "kind": "redeem_key", "account_id": "%s", "key": "%s"}]}',
      client_id, op_id, account, key)
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   answered = answered + 1
   if answered >= #data.keys then
      wrk.thread:stop()
   end
end
