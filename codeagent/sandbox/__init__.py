"""The agent's side of the trust boundary: containers with no secret and no network, and the packer."""
