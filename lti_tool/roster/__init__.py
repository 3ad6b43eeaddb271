"""Course roster sync from the LMS (LTI Names and Role Provisioning Services 2.0)."""
