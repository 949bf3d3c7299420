-- CanvasEdit for Neovim: mask text, fill it through `canvasedit serve`, watch every pass, accept or reject.
--
--   require("canvasedit").setup({ url = "http://127.0.0.1:8765" })
--   :CanvasEditHole 16        an insertion hole of 16 tokens at the cursor (:CanvasEditHole! after it)
--   :'<,'>CanvasEditMask      the visual selection becomes a hole (replaced)
--   :CanvasEditFill           fill every hole of the buffer jointly; each denoising pass is drawn
--   :CanvasEditAccept         write the fill into the buffer as one undo step (:CanvasEditReject drops it)
--
-- Needs Neovim 0.7 or newer and curl. The fill goes to the server's /v1/fill as one document with
-- its holes (character offsets); the server streams each step's deltas (tokens committed, re-masked,
-- resized), which are folded here onto the first step's pieces, as canvasedit.engine.remote does.

local client = require("canvasedit.client")

local M = {}

M.config = {
  url = "http://127.0.0.1:8765",
  api_key = nil, -- sent as "Authorization: Bearer KEY"; default $CANVASEDIT_API_KEY
  hole_length = 32, -- tokens of an insertion hole when :CanvasEditHole is given no count
  sampler = {}, -- CanvasEdit sampler settings sent with each fill, e.g. { steps = 16 }
  mask = "░",
  curl = "curl",
}

local ns = vim.api.nvim_create_namespace("canvasedit")
local states = {} -- per buffer: { holes = { {mark=, length=} }, job=, passes=, proposal= }

vim.api.nvim_set_hl(0, "CanvasEditHole", { default = true, link = "Visual" })
vim.api.nvim_set_hl(0, "CanvasEditPass", { default = true, link = "Comment" })
vim.api.nvim_set_hl(0, "CanvasEditProposal", { default = true, link = "DiffAdd" })

function M.setup(opts)
  M.config = vim.tbl_extend("force", M.config, opts or {})
end

local function state(buf)
  buf = (buf == nil or buf == 0) and vim.api.nvim_get_current_buf() or buf
  states[buf] = states[buf] or { holes = {}, passes = 0 }
  return states[buf], buf
end

function M.state(buf)
  return (state(buf))
end

-- A hole's range now (0-based rows, byte columns, end exclusive); extmarks follow the buffer's edits.
local function range(buf, hole)
  local m = vim.api.nvim_buf_get_extmark_by_id(buf, ns, hole.mark, { details = true })
  local details = m[3] or {}
  return m[1], m[2], details.end_row or m[1], details.end_col or m[2]
end

local function add_hole(buf, sr, sc, er, ec, length)
  local st = state(buf)
  local mark = vim.api.nvim_buf_set_extmark(buf, ns, sr, sc, {
    end_row = er, end_col = ec, hl_group = "CanvasEditHole", right_gravity = false, end_right_gravity = true,
    virt_text = length and { { string.rep(M.config.mask, math.min(length, 8)) .. " " .. length, "CanvasEditHole" } }
      or nil,
    virt_text_pos = "eol",
  })
  table.insert(st.holes, { mark = mark, length = length })
  return mark
end

local function char_bytes(line, col) -- bytes of the UTF-8 character starting at byte `col` (1-based)
  local b = line:byte(col) or 0
  return b < 0x80 and 1 or b < 0xE0 and 2 or b < 0xF0 and 3 or 4
end

--- An insertion hole of `length` tokens (default config.hole_length) before the character under the
--- cursor, as `i` inserts; with `after`, after it, as `a` does (the way to a hole at the end of a line).
function M.insert_hole(length, after)
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local line = vim.api.nvim_buf_get_lines(0, row - 1, row, false)[1] or ""
  if after and #line > 0 then
    col = math.min(#line, col + char_bytes(line, col + 1))
  end
  return add_hole(0, row - 1, col, row - 1, col, length or M.config.hole_length)
end

--- A replacement hole over rows/byte columns (0-based, end exclusive); its length is the range's own.
function M.mask_range(buf, sr, sc, er, ec, length)
  return add_hole(buf or 0, sr, sc, er, ec, length)
end

--- The last visual selection as a replacement hole.
function M.mask_visual()
  local s, e = vim.fn.getpos("'<"), vim.fn.getpos("'>")
  local sr, sc, er = s[2] - 1, s[3] - 1, e[2] - 1
  local last = vim.api.nvim_buf_get_lines(0, er, er + 1, false)[1] or ""
  local ec
  if vim.fn.visualmode() == "V" then
    sc, ec = 0, #last
  else
    ec = math.min(#last, e[3] - 1 + char_bytes(last, e[3]))
  end
  return add_hole(0, sr, sc, er, ec, nil)
end

-- The buffer as one string, and a hole's character offset in it (the server counts characters).
local function document(buf)
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local text = table.concat(lines, "\n")
  if vim.bo[buf].eol and #lines > 0 then
    text = text .. "\n"
  end
  local starts, at = {}, 0
  for i, line in ipairs(lines) do
    starts[i] = at
    at = at + #line + 1
  end
  local function offset(row, col)
    return vim.fn.strchars(text:sub(1, (starts[row + 1] or #text) + col))
  end
  return text, offset
end

local function clear_passes(buf, st)
  for _, hole in ipairs(st.holes) do
    if hole.view then
      pcall(vim.api.nvim_buf_del_extmark, buf, ns, hole.view)
      hole.view = nil
    end
  end
end

-- Draw each hole's current text as virtual lines under the hole's line.
local function draw(buf, st, texts, group)
  for i, hole in ipairs(st.holes) do
    local sr, sc = range(buf, hole)
    local lines = {}
    for piece in ((texts[i] or "") .. "\n"):gmatch("(.-)\n") do
      table.insert(lines, { { "│ " .. piece, group } })
    end
    hole.view = vim.api.nvim_buf_set_extmark(buf, ns, sr, sc, { id = hole.view, virt_lines = lines })
  end
end

--- Fill every hole of the buffer. opts: on_step(texts, event), on_done(result), on_error(message).
function M.fill(opts)
  opts = opts or {}
  local st, buf = state(0)
  if #st.holes == 0 then
    vim.notify("canvasedit: no holes; mark some with :CanvasEditHole or :CanvasEditMask", vim.log.levels.WARN)
    return
  end
  if st.job then
    M.cancel(buf)
  end
  table.sort(st.holes, function(a, b)
    local ar, ac = range(buf, a)
    local br, bc = range(buf, b)
    return ar < br or (ar == br and ac < bc)
  end)
  local text, offset = document(buf)
  local holes = {}
  for _, hole in ipairs(st.holes) do
    local sr, sc, er, ec = range(buf, hole)
    table.insert(holes, { start = offset(sr, sc), ["end"] = offset(er, ec), length = hole.length })
  end
  local sampler = next(M.config.sampler) and M.config.sampler or vim.empty_dict()
  st.passes, st.proposal = 0, nil
  local function fail(message)
    st.job = nil
    clear_passes(buf, st)
    vim.notify("canvasedit: " .. message, vim.log.levels.ERROR)
    if opts.on_error then
      opts.on_error(message)
    end
  end
  st.job = client.fill(M.config, { text = text, holes = holes, sampler = sampler, stream = true }, {
    on_step = function(texts, event)
      st.passes = st.passes + 1
      draw(buf, st, texts, "CanvasEditPass")
      if opts.on_step then
        opts.on_step(texts, event)
      end
    end,
    on_result = function(result)
      st.job = nil
      st.proposal = result
      local texts = {}
      for i, h in ipairs(result.holes) do
        texts[i] = h.text
      end
      draw(buf, st, texts, "CanvasEditProposal")
      if opts.on_done then
        opts.on_done(result)
      end
    end,
    on_error = fail,
  })
  return st.job
end

--- Write the pending fill into the buffer, every hole in one undo step, and forget the holes.
function M.accept(buf)
  local st
  st, buf = state(buf)
  if not st.proposal then
    vim.notify("canvasedit: nothing to accept; :CanvasEditFill first", vim.log.levels.WARN)
    return false
  end
  clear_passes(buf, st)
  local first = true
  for i = #st.holes, 1, -1 do -- from the last hole back, so earlier ranges stay where they are
    local sr, sc, er, ec = range(buf, st.holes[i])
    local lines = vim.split(st.proposal.holes[i].text, "\n", { plain = true })
    if not first then
      pcall(vim.cmd, "undojoin")
    end
    vim.api.nvim_buf_set_text(buf, sr, sc, er, ec, lines)
    first = false
  end
  M.clear(buf)
  return true
end

--- Drop the pending fill; the holes stay, to fill again.
function M.reject(buf)
  local st
  st, buf = state(buf)
  st.proposal = nil
  clear_passes(buf, st)
end

--- Stop a running fill (closing the stream cancels it on the server).
function M.cancel(buf)
  local st
  st, buf = state(buf)
  if st.job then
    vim.fn.jobstop(st.job)
    st.job = nil
  end
  clear_passes(buf, st)
end

--- Forget every hole of the buffer (and a pending fill).
function M.clear(buf)
  local st
  st, buf = state(buf)
  if st.job then
    M.cancel(buf)
  end
  vim.api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  st.holes, st.proposal = {}, nil
end

return M
