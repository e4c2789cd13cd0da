module deployproof.local/echo

go 1.22
