-- Headless test of the plugin against a real `canvasedit serve` (run by tests/server/test_nvim.py):
--
--   CANVASEDIT_URL=http://127.0.0.1:PORT CANVASEDIT_TEST_FILE=doc.py CANVASEDIT_TEST_OUT=out.json \
--     nvim --headless -u NONE -i NONE --cmd "set rtp^=editors/nvim" -c "runtime plugin/canvasedit.lua" \
--     -c "luafile editors/nvim/tests/fill_test.lua"
--
-- It marks an insertion hole with :CanvasEditHole and a visual selection with :CanvasEditMask, fills,
-- records every pass as drawn (the extmarks' virtual lines), accepts, undoes once, then checks a
-- cancel and an unreachable server; everything observed is written to CANVASEDIT_TEST_OUT as JSON.

local out = { passes = {}, drawn = {}, errors = {} }

local function finish(code)
  local f = io.open(vim.env.CANVASEDIT_TEST_OUT, "w")
  f:write(vim.json.encode(out))
  f:close()
  vim.cmd(code == 0 and "qall!" or "cquit! " .. code)
end

local ok, err = xpcall(function()
  local ce = require("canvasedit")
  ce.setup({ url = vim.env.CANVASEDIT_URL, sampler = { steps = 4 } })
  local ns = vim.api.nvim_create_namespace("canvasedit")
  vim.cmd("edit " .. vim.fn.fnameescape(vim.env.CANVASEDIT_TEST_FILE))
  local buf = vim.api.nvim_get_current_buf()
  local function buffer_text()
    return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n") .. "\n"
  end
  out.original = buffer_text()

  -- an insertion hole at the end of line 2 (after its last character), then the first word after
  -- the empty line 4 ("label" on line 5) masked in visual mode
  vim.cmd("normal! 2G$")
  vim.cmd("CanvasEditHole! 6")
  vim.cmd("normal! 4G0wve\27")
  vim.cmd("'<,'>CanvasEditMask")
  out.holes = #ce.state(buf).holes

  local done, failed = nil, nil
  ce.fill({
    on_step = function(texts)
      table.insert(out.passes, texts)
      local shown = {}
      for _, m in ipairs(vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })) do
        if m[4].virt_lines then
          local lines = {}
          for _, chunks in ipairs(m[4].virt_lines) do
            table.insert(lines, (chunks[1][1]:gsub("^│ ", "")))
          end
          table.insert(shown, table.concat(lines, "\n"))
        end
      end
      table.insert(out.drawn, shown)
    end,
    on_done = function(result)
      done = result
    end,
    on_error = function(message)
      failed = message
    end,
  })
  vim.wait(60000, function()
    return done ~= nil or failed ~= nil
  end, 10)
  if failed then
    error("fill failed: " .. failed)
  end
  assert(done, "the fill did not finish within 60 s")
  out.result = done.text
  out.before_accept = buffer_text()
  local seq = vim.fn.undotree().seq_last
  assert(ce.accept(buf))
  out.undo_steps = vim.fn.undotree().seq_last - seq
  out.accepted = buffer_text()
  out.holes_after_accept = #ce.state(buf).holes
  vim.cmd("undo")
  out.undone = buffer_text()

  -- a cancel stops the stream: no proposal, no job
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  ce.insert_hole(48)
  ce.setup({ sampler = { steps = 48 } })
  local cancelled_passes = 0
  ce.fill({
    on_step = function()
      cancelled_passes = cancelled_passes + 1
      if cancelled_passes == 1 then
        ce.cancel(buf)
      end
    end,
  })
  vim.wait(20000, function()
    return cancelled_passes > 0
  end, 10)
  vim.wait(300)
  out.cancel = { passes = cancelled_passes, job = ce.state(buf).job ~= nil, proposal = ce.state(buf).proposal ~= nil }
  ce.clear(buf)

  -- an unreachable server is an error, not a hang
  ce.setup({ url = "http://127.0.0.1:9" })
  ce.insert_hole(4)
  local message
  ce.fill({ on_error = function(m) message = m end })
  vim.wait(10000, function()
    return message ~= nil
  end, 10)
  table.insert(out.errors, message or "no error")
  ce.clear(buf)
end, debug.traceback)

if not ok then
  out.failure = tostring(err)
  finish(1)
else
  finish(0)
end
