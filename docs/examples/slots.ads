Name = "slot1@el9-node.example.org"
HAS_SINGULARITY = true
GWMS_SINGULARITY_STATUS = "PREFERRED"
SINGULARITY_PATH = "/usr/bin/apptainer"
SINGULARITY_IMAGES_DICT = "rhel9:/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el9:latest"
SINGULARITY_OS_LIST = "rhel9"
Memory = 4096
START = true
Requirements = START

Name = "slot1@plain-node.example.org"
HAS_SINGULARITY = false
GWMS_SINGULARITY_STATUS = "NEVER"
Memory = 4096
START = true
Requirements = START
