-- The /v1/fill client: curl streams the server-sent events, and the step deltas are folded into hole text.
--
--   local job = require("canvasedit.client").fill(config, body, {
--     on_step = function(texts, event) end,   -- texts[i]: hole i as it stands after this pass
--     on_result = function(result) end,       -- the server's result JSON (text, holes[i].text, nfe, …)
--     on_error = function(message) end,
--   })
--
-- Folding follows the server's stream: `start` gives each hole's token count, the first `step`
-- carries every hole's pieces, each later step its commits, re-masks and resizes, applied in that order.

local M = {}

local function is_null(v)
  return v == nil or v == vim.NIL
end

--- A fold of one fill's holes; :step(message) applies a step event and returns every hole's text.
function M.new_fold(start)
  local fold = { holes = {}, stops = {}, ends = {}, mask = start.mask or "░" }
  for _, id in ipairs(start.stop_ids or {}) do
    fold.stops[id] = true
  end
  for _, id in ipairs(start.end_ids or {}) do
    fold.ends[id] = true
  end
  for i, h in ipairs(start.holes) do
    fold.holes[i] = {}
    for j = 1, h.tokens do
      fold.holes[i][j] = { state = "masked" }
    end
  end

  function fold:step(message)
    for _, hole in ipairs(self.holes) do
      for _, e in ipairs(hole) do
        if e.state == "new" then
          e.state = "done"
        end
      end
    end
    for _, c in ipairs(message.committed or {}) do
      self.holes[c.hole + 1][c.offset + 1] = { token = c.token, text = c.text, state = "new" }
    end
    for _, r in ipairs(message.remasked or {}) do
      self.holes[r[1] + 1][r[2] + 1] = { state = "masked" }
    end
    for _, r in ipairs(message.resized or {}) do
      local hole, at = self.holes[r[1] + 1], r[2] + 1
      if r[3] > 0 then -- an expand token became two masks
        hole[at] = { state = "masked" }
        table.insert(hole, at + 1, { state = "masked" })
      else -- an end token was deleted
        table.remove(hole, at)
      end
    end
    if message.pieces then -- the exact state to fold on from here
      local tokens = {}
      for _, c in ipairs(message.committed or {}) do
        tokens[(c.hole + 1) .. ":" .. (c.offset + 1)] = c.token
      end
      for i, pieces in ipairs(message.pieces) do
        self.holes[i] = {}
        for j, p in ipairs(pieces) do
          self.holes[i][j] = { text = p[1], state = p[2], token = tokens[i .. ":" .. j] }
        end
      end
    end
    return self:texts()
  end

  -- Every hole as the engine draws it: masks as the glyph, end / pad tokens as nothing, nothing after an end.
  function fold:texts()
    local out = {}
    for i, hole in ipairs(self.holes) do
      local parts, ended = {}, false
      for _, e in ipairs(hole) do
        if e.state == "masked" then
          table.insert(parts, self.mask)
        else
          if not is_null(e.token) and self.ends[e.token] then
            ended = true
          end
          if not ended and (is_null(e.token) or not self.stops[e.token]) then
            table.insert(parts, e.text or "")
          end
        end
      end
      out[i] = table.concat(parts)
    end
    return out
  end

  return fold
end

--- POST body to config.url .. "/v1/fill" with curl; returns the job id (jobstop() it to cancel).
function M.fill(config, body, handlers)
  local fold, event, data, partial = nil, nil, {}, ""
  local finished = false
  local function finish(f, ...)
    if not finished then
      finished = true
      f(...)
    end
  end

  local function dispatch(name, payload)
    local ok, message = pcall(vim.json.decode, payload)
    if not ok then
      return finish(handlers.on_error, "the server sent something that is not JSON: " .. payload:sub(1, 80))
    end
    if name == "start" then
      fold = M.new_fold(message)
    elseif name == "step" and fold then
      handlers.on_step(fold:step(message), message)
    elseif name == "result" then
      finish(handlers.on_result, message)
    elseif name == "error" or message.error then
      local err = message.error
      finish(handlers.on_error, type(err) == "table" and err.message or tostring(err))
    end
  end

  local function line(text)
    text = text:gsub("\r$", "")
    if text == "" then
      if #data > 0 then
        dispatch(event or "message", table.concat(data, "\n"))
      end
      event, data = nil, {}
    elseif text:sub(1, 6) == "event:" then
      event = vim.trim(text:sub(7))
    elseif text:sub(1, 5) == "data:" then
      table.insert(data, (text:sub(6):gsub("^ ", "")))
    elseif text:sub(1, 1) == "{" then -- an error answered before any stream: a plain JSON body
      dispatch("error", text)
    end
  end

  local cmd = { config.curl or "curl", "--silent", "--show-error", "--no-buffer", "--request", "POST",
    "--url", config.url:gsub("/+$", "") .. "/v1/fill", "--header", "Content-Type: application/json",
    "--header", "Accept: text/event-stream", "--data-binary", "@-" }
  local key = config.api_key or vim.env.CANVASEDIT_API_KEY
  if key and key ~= "" then
    vim.list_extend(cmd, { "--header", "Authorization: Bearer " .. key })
  end
  local errors = {}
  local job = vim.fn.jobstart(cmd, {
    on_stdout = function(_, lines)
      lines[1] = partial .. lines[1]
      partial = table.remove(lines)
      for _, l in ipairs(lines) do
        line(l)
      end
    end,
    on_stderr = function(_, lines)
      for _, l in ipairs(lines) do
        if l ~= "" then
          table.insert(errors, l)
        end
      end
    end,
    on_exit = function(_, code)
      if partial ~= "" then
        line(partial)
        line("")
      end
      if code ~= 0 and code ~= 143 then -- 143: stopped by jobstop (a cancel)
        finish(handlers.on_error, "curl failed (" .. code .. "): " .. table.concat(errors, " "))
      elseif code == 0 then
        finish(handlers.on_error, "the stream ended without a result")
      end
    end,
  })
  if job <= 0 then
    finish(handlers.on_error, "cannot run " .. cmd[1])
    return nil
  end
  vim.fn.chansend(job, vim.json.encode(body))
  vim.fn.chanclose(job, "stdin")
  return job
end

return M
