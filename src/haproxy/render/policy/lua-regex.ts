// A Lua function the families' scripts share: `matches(pattern, value)`, PCRE2 through HAProxy's `Regex` (the engine
// the maps use), each pattern compiled once and kept, and the whole cache dropped past a bound, since maps can bring
// new patterns for as long as HAProxy runs. A pattern that does not compile matches nothing. Each script that needs
// it starts with this text (Lua files loaded by `lua-load` share no locals).
export const LUA_MATCHES = `local compiled, count = {}, 0

local function matches(pattern, value)
  local re = compiled[pattern]
  if re == nil then
    if count >= 10000 then compiled, count = {}, 0 end
    local ok
    ok, re = Regex.new(pattern, true)
    if not ok then re = false end
    compiled[pattern], count = re, count + 1
  end
  return re and re:exec(value)
end
`;
