timestep runs stream tenant/ticket-7          # live from another terminal, or after the end
