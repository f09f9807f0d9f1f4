"""The gateway: model calls and egress for the sandbox, on a unix socket the action serves.

It holds the model key (the sandbox has a placeholder), counts tokens, turns and cost (the
budget), and lets the sandbox reach only the hosts the egress policy allows.
"""

from codeagent.gateway.egress import EgressPolicy, NetworkMode, pinned_hosts
from codeagent.gateway.ledger import Ledger, Usage
from codeagent.gateway.server import Gateway, Upstream
from codeagent.gateway.vendors import VENDORS, Vendor

__all__ = ["EgressPolicy", "Gateway", "Ledger", "NetworkMode", "Upstream", "Usage", "VENDORS", "Vendor",
           "pinned_hosts"]
