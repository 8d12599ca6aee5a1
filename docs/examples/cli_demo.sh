timestep demo --model scripted      # a scripted stand-in, no LLM, seconds
timestep --db sqlite:///timestep-demo/timestep.db runs list   # the demo's runs afterwards
