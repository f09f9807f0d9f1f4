#!/bin/sh
echo "devtool: @GREETING@"
