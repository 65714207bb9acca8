-- Health of a wso2-frontend.dev Wso2Frontend from the kstatus-style status its operator writes:
-- Healthy only when Ready=True for the current generation; Degraded when Stalled=True (something
-- only a change of the resource fixes), with that condition's reason and message, or when
-- Serving=False (a public site does not answer through NGINX, after the agents' failure
-- threshold), with the failing sites; Progressing otherwise (no status yet, a status older than
-- the spec, reconciling, rolling out). Serving=Unknown (no probe results) changes nothing.
-- Uses only the base and table libraries, which Argo CD opens for every health script.
local hs = { status = "Progressing", message = "Waiting for the operator to report a status" }

if obj.status == nil or obj.status.conditions == nil then
  return hs
end

local function condition(type)
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function describe(c)
  return (c.reason or "") .. ": " .. (c.message or "")
end

local generation = obj.metadata.generation or 0
local observed = obj.status.observedGeneration
if observed == nil or observed < generation then
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  return { status = "Degraded", message = describe(stalled) }
end

local serving = condition("Serving")
if serving ~= nil and serving.status == "False" then
  return { status = "Degraded", message = describe(serving) }
end

local ready = condition("Ready")
if ready ~= nil and ready.status == "True" then
  return { status = "Healthy", message = ready.message or "" }
end

if ready ~= nil then
  hs.message = describe(ready)
end
return hs
