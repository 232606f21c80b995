-- A well-behaved file loaded beside the hostile one: its verdict must not
-- change whatever the hostile file did.
check "zz.good" { every = "1m", run = function()
  return ok("good %s %s", tostring(polluted), ("x"):upper())
end }
