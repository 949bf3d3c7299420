-- CanvasEdit's commands; the work is in lua/canvasedit (loaded on first use).
if vim.g.loaded_canvasedit then
  return
end
vim.g.loaded_canvasedit = true

local function ce()
  return require("canvasedit")
end

vim.api.nvim_create_user_command("CanvasEditHole", function(a)
  ce().insert_hole(tonumber(a.args), a.bang)
end, { nargs = "?", bang = true, desc = "CanvasEdit: an insertion hole at the cursor ([N] tokens; ! after it)" })
vim.api.nvim_create_user_command("CanvasEditMask", function()
  ce().mask_visual()
end, { range = true, desc = "CanvasEdit: the visual selection becomes a hole" })
vim.api.nvim_create_user_command("CanvasEditFill", function()
  ce().fill()
end, { desc = "CanvasEdit: fill every hole through canvasedit serve" })
vim.api.nvim_create_user_command("CanvasEditAccept", function()
  ce().accept()
end, { desc = "CanvasEdit: write the fill into the buffer (one undo step)" })
vim.api.nvim_create_user_command("CanvasEditReject", function()
  ce().reject()
end, { desc = "CanvasEdit: drop the fill, keep the holes" })
vim.api.nvim_create_user_command("CanvasEditCancel", function()
  ce().cancel()
end, { desc = "CanvasEdit: stop the running fill" })
vim.api.nvim_create_user_command("CanvasEditClear", function()
  ce().clear()
end, { desc = "CanvasEdit: forget every hole of the buffer" })
