"""Local fakes of cloud services, served over real connections for the tests."""
