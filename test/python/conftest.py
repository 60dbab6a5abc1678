def pytest_configure(config):
    # `npm test` runs them (CI); PSCL_SKIP_SLOW=1 npm test -- python leaves them out while iterating
    config.addinivalue_line("markers", "slow: minutes of CPU (e.g. retraining the demo CLIP); run in CI")
