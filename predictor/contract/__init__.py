"""What every part of the planner shares: the plan and its rules, the model's features, notices and number formats."""
