module deployproof.local/pause

go 1.22
